import { CLIENT_COMMANDS } from "./commands/index.js";
import { COMMON_FLAGS } from "./commands/command.js";
import { ConfigError } from "./config.js";
import { SERVE_FLAGS } from "./serve-flags.js";

/** One flag as completion sees it. */
interface CompletedFlag {
  readonly name: string;
  readonly short?: string;
  readonly help: string;
  /** Takes a value; `file`/`dir` values complete paths. */
  readonly value?: "word" | "file" | "dir";
  /** The only values it takes, completed as words. */
  readonly choices?: readonly string[];
}

/** One command as completion sees it. */
interface CompletedCommand {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly CompletedFlag[];
  /** Words that complete the first positional argument. */
  readonly words?: readonly string[];
}

const SHELLS = ["bash", "zsh"] as const;

function valueKind(name: string, placeholder: string | undefined): CompletedFlag["value"] {
  if (name === "data-dir") return "dir";
  if (placeholder === "FILE" || /^(tls-|auth-file)/.test(name)) return "file";
  return "word";
}

/**
 * Every command and its flags, read from the same tables as `--help` (SERVE_FLAGS, COMMON_FLAGS
 * and each client command's own), so completion never drifts from the CLI.
 */
export function completionModel(): CompletedCommand[] {
  const serveFlags = Object.entries(SERVE_FLAGS).map(([name, f]): CompletedFlag => ({
    name, help: f.help, ...("boolean" in f ? {} : { value: valueKind(name, undefined) }),
  }));
  const client = CLIENT_COMMANDS.map((c): CompletedCommand => ({
    name: c.name,
    summary: c.summary,
    flags: Object.entries({ ...COMMON_FLAGS, ...c.flags }).map(([name, f]) => ({
      name, help: f.help, ...(f.short ? { short: f.short } : {}), ...(f.type === "string" ? { value: valueKind(name, f.value) } : {}),
      ...(f.choices ? { choices: f.choices } : {}),
    })),
  }));
  const names = ["serve", ...CLIENT_COMMANDS.map((c) => c.name)];
  const help: CompletedFlag = { name: "help", short: "h", help: "show this help" };
  return [
    { name: "serve", summary: "Serve keypool.v1.KeyService", flags: [...serveFlags, help] },
    ...client,
    { name: "help", summary: "Show the help of a command", flags: [], words: names },
    { name: "completion", summary: "Print a shell completion script", flags: [], words: SHELLS },
    { name: "version", summary: "Print the version", flags: [] },
  ];
}

function bashScript(commands: readonly CompletedCommand[]): string {
  const spell = (f: CompletedFlag): string[] => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])];
  const withKind = (kind: CompletedFlag["value"]): string =>
    [...new Set(commands.flatMap((c) => c.flags.filter((f) => f.value === kind && !f.choices).flatMap(spell)))].join("|") || "--none";
  const chosen = new Map(commands.flatMap((c) => c.flags.flatMap((f) => (f.choices ? spell(f).map((s) => [s, f.choices!] as const) : []))));
  const choiceCases = [...chosen].map(([flag, words]) => `    ${flag}) COMPREPLY=($(compgen -W "${words.join(" ")}" -- "$cur")); return ;;`);
  const cases = commands.map((c) => {
    const words = [...c.flags.flatMap(spell), ...(c.words ?? [])].join(" ");
    return `    ${c.name}) words="${words}" ;;`;
  });
  return [
    "# keypool completion for bash. Load it with: source <(keypool completion bash)",
    "_keypool() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" words',
    "  if [[ $COMP_CWORD -eq 1 ]]; then",
    `    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")} --help --version" -- "$cur"))`,
    "    return",
    "  fi",
    '  case "$prev" in',
    `    ${withKind("file")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`,
    `    ${withKind("dir")}) COMPREPLY=($(compgen -d -- "$cur")); return ;;`,
    ...choiceCases,
    `    ${withKind("word")}) COMPREPLY=(); return ;;`,
    "  esac",
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    '    *) words="" ;;',
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    "}",
    "complete -F _keypool keypool",
    "",
  ].join("\n");
}

/** Text safe inside a zsh `_arguments` description: no brackets, colons or quotes. */
function zshText(text: string): string {
  return text.replace(/[[\]]/g, "").replace(/:/g, " -").replace(/'/g, "");
}

function zshFlag(f: CompletedFlag): string {
  const action = f.choices ? `:${f.name}:(${f.choices.join(" ")})`
    : f.value === "file" ? ":file:_files" : f.value === "dir" ? ":dir:_directories" : f.value ? `:${f.name}:` : "";
  const long = `'--${f.name}[${zshText(f.help)}]${action}'`;
  return f.short ? `${long} '-${f.short}[${zshText(f.help)}]${action}'` : long;
}

function zshScript(commands: readonly CompletedCommand[]): string {
  const cases = commands.map((c) => {
    const args = [...c.flags.map(zshFlag), ...(c.words ? [`'1:word:(${c.words.join(" ")})'`] : [])];
    return `    ${c.name}) _arguments ${args.join(" ") || "''"} ;;`;
  });
  return [
    "#compdef keypool",
    "# keypool completion for zsh. Load it with: source <(keypool completion zsh) (after compinit)",
    "_keypool() {",
    `  local -a commands=(${commands.map((c) => `'${c.name}:${zshText(c.summary)}'`).join(" ")})`,
    "  if (( CURRENT == 2 )); then",
    "    _describe command commands",
    "    return",
    "  fi",
    "  shift words; (( CURRENT-- ))",
    '  case "$words[1]" in',
    ...cases,
    "  esac",
    "}",
    'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then _keypool "$@"; else compdef _keypool keypool; fi',
    "",
  ].join("\n");
}

/** `keypool completion bash|zsh`: the script for that shell, or a ConfigError naming the choices. */
export function completionScript(shell: string | undefined): string {
  if (shell === "bash") return bashScript(completionModel());
  if (shell === "zsh") return zshScript(completionModel());
  throw new ConfigError(`expected: keypool completion ${SHELLS.join("|")}${shell === undefined ? "" : ` (got "${shell}")`}`);
}
