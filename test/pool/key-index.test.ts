import { describe, expect, it } from "vitest";
import { KeyIndex } from "../../src/pool/key-index.js";
import { seededRandom, type Random } from "../../src/random.js";
import { ALPHABET, keyStartingWith } from "./pool-fixtures.js";

/** The probing tests hold at most this many keys in a 1024-cell table (full: it grows past it). */
const CAPACITY = 512;
const TABLE_CELLS = 1024;
const TABLE_MASK = 1023;

const VALUE = new Map(Array.from(ALPHABET, (c, i) => [c, i]));

/**
 * A hash the probing tests control: a generated key's first five random characters, 6 bits
 * each, so a test can build keys with any home cell (the real keyHash mixes every character).
 */
function homeHash(key: string): number {
  let h = 0;
  for (let i = 3; i < 8; i++) h = (h << 6) | VALUE.get(key[i]!)!;
  return h;
}

/**
 * A key whose home cell in a 1024-cell table is `home` under homeHash: the low 10 bits are the
 * fifth random character and the low 4 bits of the fourth.
 */
function keyWithHome(home: number, random: Random): string {
  const fourth = ALPHABET[((home >> 6) & 15) | (random.int(4) << 4)]!;
  const fifth = ALPHABET[home & 63]!;
  const head = ALPHABET[random.int(64)]! + ALPHABET[random.int(64)]! + ALPHABET[random.int(64)]! + fourth + fifth;
  return keyStartingWith(head, random);
}

/** A KeyIndex over a plain slot -> key array, as the pool uses it. */
function harness() {
  const slots: (string | undefined)[] = [];
  const spare: number[] = [];
  const index = new KeyIndex((slot) => slots[slot]!, homeHash, TABLE_CELLS);
  return {
    index,
    add(key: string): number {
      const slot = spare.pop() ?? slots.length;
      slots[slot] = key;
      index.insert(slot);
      return slot;
    },
    remove(slot: number): void {
      index.remove(slot);
      slots[slot] = undefined;
      spare.push(slot);
    },
  };
}

/**
 * Homes crowded around the end of the table, so probe runs are long and wrap from cell 1023 to
 * cell 0, plus one cluster in the middle.
 */
const CROWDED_HOMES = [1019, 1021, 1022, 1023, 0, 1, 2, 600, 601];

describe("KeyIndex", () => {
  it("crafted keys land on the home cells the tests rely on", () => {
    const random = seededRandom(3);
    for (const home of CROWDED_HOMES) expect(homeHash(keyWithHome(home, random)) & TABLE_MASK).toBe(home);
  });

  it("finds every key after removals inside a probe run that wraps past the end of the table", () => {
    const random = seededRandom(4);
    const h = harness();
    const homes = [1022, 1022, 1023, 0, 1022, 1023, 0, 1, 1021];
    const entries = homes.map((home) => {
      const key = keyWithHome(home, random);
      return { key, slot: h.add(key) };
    });
    // Remove from the front, the middle and the wrapped tail of the run, one at a time.
    for (const victim of [0, 4, 7, 2]) {
      h.remove(entries[victim]!.slot);
      const gone = entries.splice(victim, 1, { key: "", slot: -1 })[0]!;
      expect(h.index.find(gone.key)).toBe(-1);
      for (const { key, slot } of entries) if (slot !== -1) expect(h.index.find(key)).toBe(slot);
    }
  });

  it("moves an entry that wrapped to cell 0 back when the cell before it empties", () => {
    const random = seededRandom(6);
    const h = harness();
    const first = h.add(keyWithHome(1023, random));
    const wrapped = keyWithHome(1023, random);
    const slot = h.add(wrapped);
    h.remove(first);
    expect(h.index.find(wrapped)).toBe(slot);
  });

  it("keeps one key text under two owners apart, also when both share a home cell", () => {
    // Owner 1024 mixes to the same home as owner 0 in a 1024-cell table (the mix's low 10 bits
    // are multiplied by 1024), so both entries sit in one probe run and only the owner tells them apart.
    const slots: string[] = [];
    const owners: number[] = [];
    const index = new KeyIndex((slot) => slots[slot]!, homeHash, TABLE_CELLS, (slot) => owners[slot]!);
    const key = keyWithHome(17, seededRandom(8));
    const add = (owner: number): number => {
      slots.push(key);
      owners.push(owner);
      index.insert(slots.length - 1);
      return slots.length - 1;
    };
    const [a, b, c] = [add(0), add(1024), add(1)];
    expect([index.find(key, 0), index.find(key, 1024), index.find(key, 1), index.find(key, 2048)]).toEqual([a, b, c, -1]);
    index.remove(a);
    expect([index.find(key, 0), index.find(key, 1024), index.find(key, 1)]).toEqual([-1, b, c]);
  });

  it("answers a miss in a table filled to capacity by one colliding run", () => {
    const random = seededRandom(5);
    const h = harness();
    const head = "abcde";
    const slots = Array.from({ length: CAPACITY }, () => h.add(keyStartingWith(head, random)));
    expect(h.index.find(keyStartingWith(head, random))).toBe(-1);
    expect(slots).toHaveLength(CAPACITY);
  });

  it.each([11, 12, 13])("agrees with a Map over 20,000 seeded inserts, removes and finds (seed %i)", (seed) => {
    const random = seededRandom(seed);
    const h = harness();
    const model = new Map<string, number>();
    const live: string[] = [];
    const removed: string[] = [];
    const freshKey = (): string =>
      random.int(4) === 0 ? keyStartingWith("", random) : keyWithHome(CROWDED_HOMES[random.int(CROWDED_HOMES.length)]!, random);
    let target = 0;
    for (let step = 0; step < 20_000; step++) {
      // Swing the fill level between empty and full so both long runs and drained runs occur.
      if (step % 500 === 0) target = random.int(2) === 0 ? random.int(40) : random.int(CAPACITY + 1);
      const grow = model.size < target ? 6 : 1;
      const op = random.int(10);
      if (op < grow && model.size < CAPACITY) {
        const key = freshKey();
        if (model.has(key)) continue;
        model.set(key, h.add(key));
        live.push(key);
      } else if (op < 7 && live.length > 0) {
        const at = random.int(live.length);
        const key = live[at]!;
        live[at] = live[live.length - 1]!;
        live.pop();
        h.remove(model.get(key)!);
        model.delete(key);
        removed.push(key);
      } else {
        const pick = random.int(3);
        const key =
          pick === 0 && live.length > 0
            ? live[random.int(live.length)]!
            : pick === 1 && removed.length > 0
              ? removed[random.int(removed.length)]!
              : freshKey();
        expect(h.index.find(key), `step ${step}`).toBe(model.get(key) ?? -1);
      }
      // A lost entry can be found again once a later insert bridges the gap, so look at once:
      // every key while the table is sparse, a sample while it is crowded, all of them now and then.
      const checked = model.size <= 32 || step % 500 === 0 ? live : [live[random.int(live.length)]!, live[0]!];
      const lost = checked.filter((key) => key !== undefined && h.index.find(key) !== model.get(key));
      if (lost.length > 0) expect.fail(`step ${step}: ${lost.length} keys no longer found at their slot`);
    }
    for (const [key, slot] of model) expect(h.index.find(key)).toBe(slot);
  });

  it("grows from 64 cells to hold 100,000 keys by moving a few entries per insert, finding every key all along", () => {
    const random = seededRandom(21);
    const slots: string[] = [];
    let looks = 0;
    const index = new KeyIndex((slot) => {
      looks++;
      return slots[slot]!;
    });
    const model = new Map<string, number>();
    let worst = 0;
    let grew = 0;
    for (let i = 0; i < 100_000; i++) {
      const key = i % 2 === 0 ? keyStartingWith("", random) : `sk-proj-${i.toString(36).padStart(12, "0")}`;
      slots.push(key);
      const wasGrowing = index.growing;
      looks = 0;
      index.insert(i);
      worst = Math.max(worst, looks);
      if (!wasGrowing && index.growing) grew++;
      model.set(key, i);
      // Remove every fifth key, and check a sample of the rest, old table and new alike.
      if (i % 5 === 4) {
        const gone = slots[i - 2]!;
        looks = 0;
        index.remove(model.get(gone)!);
        worst = Math.max(worst, looks);
        model.delete(gone);
        expect(index.find(gone)).toBe(-1);
      }
      if (i % 97 === 0) for (const k of [slots[random.int(i + 1)]!, key]) expect(index.find(k)).toBe(model.get(k) ?? -1);
    }
    expect(index.size).toBe(model.size);
    for (const [key, slot] of model) expect(index.find(key)).toBe(slot);
    expect(grew).toBeGreaterThanOrEqual(11); // 64 cells doubled at least 11 times
    // A whole-table rehash would look at tens of thousands of keys in one insert.
    expect(worst).toBeLessThan(64);
  });
});
