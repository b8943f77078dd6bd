/** What the acknowledged history says a key is; "held" carries the lease that holds it. */
export type KeyFate = { readonly is: "free" } | { readonly is: "held"; readonly lease: string } | { readonly is: "gone" };

/** The operations on a held key whose outcome a kill can leave unknown. */
export type Ending = "release" | "delete";

/**
 * The oracle of the kill -9 tests: a ledger of every acknowledged write to a durable pool, checked
 * against what the pool holds after each restart. The rules: a key exists unless its delete was
 * acknowledged; an acknowledged lease still holds its key unless its release or delete was in
 * flight at the kill; a deleted key never comes back; no key is handed to two holders. Writes in
 * flight may or may not have happened; acquires in flight may have taken free keys (at most one
 * per caller). Problems are collected, not thrown, so one failure reports all of them. O(1) per
 * event, O(n) per check.
 */
export class CrashLedger {
  /** Every problem found so far, as a line a person can read; empty while the store is right. */
  readonly problems: string[] = [];
  /** Events acknowledged so far. */
  acks = 0;
  private readonly known = new Map<string, KeyFate>();
  private readonly ending = new Map<string, Ending>();

  /** The keys the history knows, in the order it learned them. */
  keys(): string[] {
    return [...this.known.keys()];
  }

  /** How many known keys are in each state (for the test's own sanity checks). */
  count(is: KeyFate["is"]): number {
    return [...this.known.values()].filter((fate) => fate.is === is).length;
  }

  /** Records an acknowledged GenerateKeys. */
  generated(keys: readonly string[]): void {
    this.acks++;
    for (const key of keys) this.known.set(key, { is: "free" });
  }

  /** Records an acknowledged AcquireKey; a key another acknowledged lease holds, or a deleted one, is a problem. */
  acquired(key: string, lease: string): void {
    this.acks++;
    const before = this.known.get(key);
    if (before?.is === "held") this.problems.push(`key ${key} was handed out while lease ${before.lease} held it`);
    if (before?.is === "gone") this.problems.push(`deleted key ${key} was handed out`);
    this.known.set(key, { is: "held", lease });
  }

  /** Records that a release or delete of a held key was sent (its outcome unknown until acknowledged). */
  begun(key: string, op: Ending): void {
    this.ending.set(key, op);
  }

  /** Records an acknowledged ReleaseKey or DeleteKey. */
  ended(key: string, op: Ending): void {
    this.acks++;
    this.ending.delete(key);
    this.known.set(key, op === "release" ? { is: "free" } : { is: "gone" });
  }

  /**
   * Checks every known key against `actual` (what the restarted pool says, in `keys()` order),
   * then adopts it as the truth for the next round: in-flight outcomes are settled. At most
   * `callers` keys may change hands through acquires that were in flight.
   */
  check(actual: readonly KeyFate[], callers: number, round: number): void {
    let takenInFlight = 0;
    for (const [i, key] of this.keys().entries()) {
      const expected = this.known.get(key)!;
      const now = actual[i]!;
      const flight = this.ending.get(key);
      if (!allowed(expected, now, flight)) {
        this.problems.push(`round ${round}: ${describe(expected)} key ${key} came back ${describe(now)} (in flight: ${flight ?? "nothing"})`);
      }
      if (now.is === "held" && (expected.is !== "held" || now.lease !== expected.lease)) takenInFlight++;
      this.known.set(key, now);
    }
    if (takenInFlight > callers) this.problems.push(`round ${round}: ${takenInFlight} keys newly held, more than ${callers} acquires could be in flight`);
    this.ending.clear();
  }
}

/** Whether `actual` is a state the acknowledged history (plus an operation in flight) allows. */
function allowed(expected: KeyFate, actual: KeyFate, inFlight: Ending | undefined): boolean {
  if (expected.is === "gone") return actual.is === "gone";
  if (expected.is === "free") return actual.is !== "gone"; // an in-flight acquire may have taken it
  const sameLease = actual.is === "held" && actual.lease === expected.lease;
  if (inFlight === "release") return actual.is !== "gone";
  if (inFlight === "delete") return sameLease || actual.is === "gone";
  return sameLease;
}

function describe(fate: KeyFate): string {
  return fate.is === "held" ? `held (lease ${fate.lease})` : fate.is;
}

/**
 * Kill rounds per crash test: `KEYPOOL_CRASH_ROUNDS` (`npm run test:crash-loop` sets 20), else
 * the short version `npm test` runs.
 */
export function crashRounds(short = 8): number {
  const text = process.env.KEYPOOL_CRASH_ROUNDS;
  if (text === undefined || text === "") return short;
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`KEYPOOL_CRASH_ROUNDS must be a whole number of rounds, got "${text}"`);
  return rounds;
}
