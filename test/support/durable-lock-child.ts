/**
 * A second keypool for the lock test (test/store/durable-lock.test.ts): opens a durable EmbeddedStore on
 * the data dir in argv[2] and prints one line, `{"opened":true,"pid":N}` or `{"refused":MESSAGE}`.
 * An opened store is held until the process is killed or its stdin closes.
 */
import { ManualClock } from "../../src/clock.js";
import { seededRandom } from "../../src/random.js";
import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { DURABLE_DEFAULTS } from "./durable-dirs.js";

const options = { ...DURABLE_DEFAULTS, dataDir: process.argv[2]!, scheduler: new ManualScheduler(new ManualClock()), random: seededRandom(7) };
try {
  const store = await EmbeddedStore.open(options);
  process.stdout.write(`${JSON.stringify({ opened: true, pid: process.pid })}\n`);
  process.stdin.resume().once("end", () => void store.close().then(() => process.exit(0)));
} catch (err) {
  process.stdout.write(`${JSON.stringify({ refused: (err as Error).message })}\n`);
  process.exit(3);
}
