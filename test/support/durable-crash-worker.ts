/**
 * The victim of the crash test (test/store/durable-crash.test.ts): opens a durable EmbeddedStore on the
 * data dir named in argv[2] and runs concurrent generate / acquire / release / delete load until
 * it is killed. Writes one JSON line per event to the file named in argv[4], with one `write(2)`
 * each (`writeSync`): a write to a regular file is in the page cache when the call returns, so
 * every line written survives SIGKILL, and a line is written before the next step begins.
 *
 *   {"w":1,"begin":"release","key":K}                 an operation on a held key started
 *   {"w":1,"ack":"generate","keys":[K,...]}           acknowledged (its promise resolved)
 *   {"w":1,"ack":"acquire","key":K,"lease":L}
 *   {"w":1,"ack":"release"|"delete","key":K}
 *
 * Only `{"ready":true}` goes to stdout, once the store is open. The events must not: Node writes
 * to a pipe without blocking, and once the pipe is full (a busy parent reads late) it queues the
 * rest in the process, where SIGKILL drops it. The test then missed the last events of a round,
 * ops that did reach the disk, and reported them as lost writes (issue 10).
 *
 * A worker only releases or deletes keys it acquired, so each key has at most one operation in
 * flight besides acquires. Keys are written whole: they are throwaway test keys, and the test
 * must look them up.
 */
import { openSync, writeSync } from "node:fs";
import { backgroundScheduler } from "../../src/scheduler.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom, systemRandom } from "../../src/random.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";

const WORKERS = 8;

const dir = process.argv[2]!;
const events = openSync(process.argv[4]!, "w");

function print(event: object): void {
  writeSync(events, `${JSON.stringify(event)}\n`);
}

const pick = seededRandom(Number(process.argv[3] ?? 1));
const store = await EmbeddedStore.open({
  dataDir: dir,
  blockTtlMs: 600_000,
  keepaliveTtlMs: 3_600_000,
  maxKeys: 200_000,
  scheduler: backgroundScheduler,
  random: systemRandom,
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

async function worker(w: number): Promise<never> {
  const held: { key: string; lease: string }[] = [];
  for (;;) {
    const r = pick.int(100);
    if (held.length < 3 && r < 45) {
      try {
        const got = await store.acquire();
        held.push({ key: got.key, lease: got.leaseId! });
        print({ w, ack: "acquire", key: got.key, lease: got.leaseId });
        continue;
      } catch (err) {
        if (!(err instanceof KeyPoolError && err.code === "not-found")) throw err;
      }
    }
    if (held.length === 0 || r < 60) {
      const keys = await store.generate(1 + pick.int(4));
      print({ w, ack: "generate", keys: keys.map((k) => k.key) });
      continue;
    }
    const { key, lease } = held.splice(pick.int(held.length), 1)[0]!;
    const op = r < 85 ? "release" : "delete";
    print({ w, begin: op, key });
    await (op === "release" ? store.release(key, lease) : store.delete(key));
    print({ w, ack: op, key });
  }
}

await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
