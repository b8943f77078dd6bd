/**
 * Joins `--flag VALUE` into `--flag=VALUE` when VALUE starts with a dash but is not itself a
 * flag (`--keepalive-ttl -1s`, `-n -3`), so that node's parseArgs hands the value to the flag's
 * own check (which then says what is wrong with it) instead of calling it "ambiguous".
 * `valueFlags` maps every spelling of a flag that takes a value (`--count`, `-n`) to its long
 * name; values that are a known spelling (a forgotten value) are left alone. O(argv).
 */
export function joinDashValues(argv: readonly string[], valueFlags: ReadonlyMap<string, string>, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === "--") return [...out, ...argv.slice(i)];
    const long = valueFlags.get(arg);
    if (long !== undefined && next !== undefined && /^-[^-]/.test(next) && !known.has(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * One line for a parseArgs failure, saying what to type: `--data-dir needs a value` rather than
 * "argument is ambiguous" (which happens when the next word is another flag).
 */
export function argvErrorLine(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  const flag = /^Option '(-[^' ]+)/.exec(message)?.[1];
  if (flag && /ambiguous|argument missing/.test(message)) return `${flag} needs a value (to pass one that starts with a dash, write ${flag}=VALUE)`;
  if (flag && /does not take an argument/.test(message)) return `${flag} takes no value`;
  return message.split("\n")[0]!;
}

/** A value as messages show it: `--port "abc"` when typed as a flag, `KEYPOOL_PORT="abc"` when read from the environment. */
export function shownValue(name: string, text: string): string {
  return `${name}${name.startsWith("-") ? " " : "="}${JSON.stringify(text)}`;
}
