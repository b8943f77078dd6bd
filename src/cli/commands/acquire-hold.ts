import type { KeyPoolClient } from "../../client/key-pool-client.js";
import type { LeasedKey, LostReason } from "../../client/types.js";
import { redactKey } from "../../pool/key-format.js";
import { formatDuration } from "../duration.js";
import { EXIT, keyJson, keyTable } from "../output.js";
import type { CliIo } from "./command.js";

/** One JSON document on one line (the events of a hold are a stream of lines). */
function line(io: CliIo, event: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify(event)}\n`);
}

/** The exit code of a hold that ended because the lease was lost. */
const EXIT_OF_LOST: Readonly<Record<LostReason, number>> = {
  "not-found": EXIT.notFound,
  "lease-ended": EXIT.conflict,
  "max-lease": EXIT.conflict,
  "permission-denied": EXIT.other,
  "stream-down": EXIT.unavailable,
};

/**
 * `keypool acquire --hold`: holds the acquired key's lease (renewed over one stream) until
 * `io.signal` aborts (Ctrl-C, SIGTERM) or the lease is lost. With --json, one JSON line per
 * event: the key, each renewal, then `released` or `lost`. Releases under the lease on the way
 * out. Exit 0 when it was released while still held; the lost reason's code otherwise.
 */
export async function holdLease(client: KeyPoolClient, key: LeasedKey, io: CliIo, json: boolean): Promise<number> {
  const hold = client.hold(key);
  if (json) line(io, { event: "acquired", ...keyJson(key), fencingToken: key.fencingToken });
  else {
    io.stdout.write(keyTable([key]));
    io.stderr.write(`holding ${redactKey(key.key)} under its lease, renewing every ${formatDuration(client.holdIntervalMs ?? 0)}; Ctrl-C to release\n`);
  }
  hold.on("renewed", (expiresAt) => {
    if (json) line(io, { event: "renewed", key: key.key, blockedUntil: new Date(hold.blockedUntil).toISOString(), expiresAt: new Date(expiresAt).toISOString() });
  });
  const ended = await new Promise<"stopped" | LostReason>((resolve) => {
    hold.once("lost", resolve);
    if (io.signal.aborted) resolve("stopped");
    else io.signal.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  if (ended !== "stopped") {
    await hold.release().catch(() => undefined);
    if (json) line(io, { event: "lost", key: key.key, reason: ended });
    io.stderr.write(`lost the lease of ${redactKey(key.key)}: ${ended}\n`);
    return EXIT_OF_LOST[ended];
  }
  await hold.release();
  if (json) line(io, { event: "released", key: key.key });
  else io.stderr.write(`released ${redactKey(key.key)}\n`);
  return EXIT.ok;
}
