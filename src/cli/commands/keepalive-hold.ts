import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { LostReason } from "../../client/types.js";
import { redactKey } from "../../pool/key-format.js";
import { formatDuration } from "../duration.js";
import { EXIT, table, writeJson } from "../output.js";
import type { CliIo } from "./command.js";

/** Resolves when `signal` aborts or `done` is called. */
function untilStopped(signal: AbortSignal): { stopped: Promise<void>; done(): void } {
  let done = (): void => {};
  const stopped = new Promise<void>((resolve) => {
    done = resolve;
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  return { stopped, done };
}

/** Tells stderr how the stream fares; keys only ever shortened. */
function narrate(client: KeyPoolClient, io: CliIo, count: number): void {
  let announced = false;
  client.on("connected", () => {
    const every = client.holdIntervalMs === undefined ? "" : `, every ${formatDuration(client.holdIntervalMs)}`;
    io.stderr.write(announced ? "keepalive stream back\n" : `keeping ${count} key(s) alive over one stream${every}; Ctrl-C to stop\n`);
    announced = true;
  });
  client.on("disconnected", (err) => io.stderr.write(`keepalive stream down (${err.code}: ${err.details}); reconnecting\n`));
  client.on("lost", (key, reason) => io.stderr.write(`lost ${redactKey(key)}: ${reason}\n`));
}

/**
 * `keypool keepalive --hold KEY...`: holds every key (all of `pool`) over the client's one stream until the
 * signal aborts or every key is lost, then prints one row per key. Exit 0 when none was lost,
 * 3 when one was not found, 1 when the token may not keep one (its pool), 5 when one was lost
 * because the stream stayed down.
 */
export async function holdKeys(client: KeyPoolClient, pool: string, keys: readonly string[], io: CliIo, json: boolean): Promise<number> {
  const unique = [...new Set(keys)];
  const lost = new Map<string, LostReason>();
  const { stopped, done } = untilStopped(io.signal);
  narrate(client, io, unique.length);
  client.on("lost", (key, reason) => {
    lost.set(key, reason);
    if (lost.size === unique.length) done();
  });
  const holds = unique.map((key) => client.hold(key, { pool }));
  await stopped;
  for (const hold of holds) hold.stop();
  const rows = unique.map((key) => ({ key, held: !lost.has(key), lost: lost.get(key) ?? null }));
  if (json) writeJson(io.stdout, { keys: rows });
  else io.stdout.write(table(["KEY", "STATUS"], rows.map((r) => [r.key, r.lost ? `lost: ${r.lost}` : "held"])));
  const reasons = [...lost.values()];
  if (reasons.includes("not-found")) return EXIT.notFound;
  if (reasons.includes("permission-denied")) return EXIT.other;
  return reasons.length > 0 ? EXIT.unavailable : EXIT.ok;
}
