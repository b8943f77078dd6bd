/**
 * The victim of the crash test (test/store/durable-crash.test.ts): opens a durable EmbeddedStore on the
 * data dir named in argv[2] and runs concurrent generate / acquire / release / delete load until
 * it is killed. Prints one JSON line per event on stdout, which is a pipe and written
 * synchronously on Linux, so every line printed survives SIGKILL:
 *
 *   {"ready":true}                                    the store is open
 *   {"w":1,"begin":"release","key":K}                 an operation on a held key started
 *   {"w":1,"ack":"generate","keys":[K,...]}           acknowledged (its promise resolved)
 *   {"w":1,"ack":"acquire","key":K,"lease":L}
 *   {"w":1,"ack":"release"|"delete","key":K}
 *
 * A worker only releases or deletes keys it acquired, so each key has at most one operation in
 * flight besides acquires. Keys are printed whole: they are throwaway test keys, and the test
 * must look them up.
 */
import { backgroundScheduler } from "../../src/scheduler.js";
import { KeyPoolError } from "../../src/pool/index.js";
import { seededRandom, systemRandom } from "../../src/random.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";

const WORKERS = 8;

function print(event: object): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const dir = process.argv[2]!;
const pick = seededRandom(Number(process.argv[3] ?? 1));
const store = await EmbeddedStore.open({
  dataDir: dir,
  blockTtlMs: 600_000,
  keepaliveTtlMs: 3_600_000,
  maxKeys: 200_000,
  scheduler: backgroundScheduler,
  random: systemRandom,
});
print({ ready: true });

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
