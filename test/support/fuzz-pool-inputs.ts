import fc from "fast-check";
import { malformedKey, malformedLease, token } from "./fuzz-arbitraries.js";

/**
 * fast-check inputs for ImportKeys and ListKeys: key texts, pool names, states, page sizes and
 * page tokens as a careless or hostile admin sends them. Written from the documented formats
 * (README, proto comments), not from the server's validators.
 */

/** The documented pool name: 1 to 64 characters of [a-z0-9_.-] ("" in a request: the default pool). */
export const POOL_SHAPE = /^[a-z0-9_.-]{1,64}$/;

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** `min` to `max` characters of printable ASCII without spaces: a key of the documented format. */
const printableText = (min: number, max: number) => fc.string({ unit: printable, minLength: min, maxLength: max, size: "max" });

/** A key text as an importer sends it: mostly well-formed, sometimes 0 to 600 characters of anything. */
export const keyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: printableText(8, 60) },
  { weight: 1, arbitrary: printableText(61, 512) },
  { weight: 1, arbitrary: printableText(0, 7) },
  { weight: 1, arbitrary: printableText(513, 600) },
  { weight: 2, arbitrary: malformedKey(600) },
);

/** Names the pools of a run share, so imports and listings meet again. */
const KNOWN_POOLS = ["openai", "gemini", "team-a", "x.y_z-0", "a"] as const;

/** What a request's `pool` holds: the default pool, a shared or random valid name, or a malformed one. */
export const poolText: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant("") },
  { weight: 5, arbitrary: fc.constantFrom(...KNOWN_POOLS) },
  { weight: 1, arbitrary: fc.stringMatching(POOL_SHAPE) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom("OpenAI", "open ai", "a".repeat(65), "{pool}", "pool\"", "ü", "\0", "p\n", "sk-proj-Abcdefghijklmnop0123"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 80 }),
      malformedKey(200),
    ).filter((s) => !POOL_SHAPE.test(s)),
  },
);

/** A change to one entry of an import: a bad text, a repeat of an earlier entry, a key the pool (or another) holds. */
export type Spoil =
  | { readonly at: number; readonly bad: string }
  | { readonly at: number; readonly repeat: number }
  | { readonly at: number; readonly held: number; readonly elsewhere: boolean };

/** One ImportKeys call: `count` fresh keys built on `base`, then `spoils` applied. */
export interface ImportInput {
  readonly pool: string;
  readonly count: number;
  readonly base: string;
  readonly texts: readonly string[];
  readonly spoils: readonly Spoil[];
}

/** ImportKeys inputs: 0 to 1,100 keys (past the 1,000 limit too), duplicates within and across calls. */
export const importInput: fc.Arbitrary<ImportInput> = fc.record({
  pool: poolText,
  count: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 20 }) },
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 21, max: 400 }), fc.constant(1_000)) },
    { weight: 1, arbitrary: fc.integer({ min: 1_001, max: 1_100 }) },
  ),
  base: token(4, 12),
  texts: fc.oneof(fc.constant([]), fc.array(keyText, { maxLength: 6 })),
  spoils: fc.oneof(fc.constant([]), fc.array(fc.oneof(
    fc.record({ at: fc.nat(), bad: malformedKey(600) }),
    fc.record({ at: fc.nat(), repeat: fc.nat() }),
    fc.record({ at: fc.nat(), held: fc.nat(), elsewhere: fc.boolean() }),
  ), { maxLength: 2 })),
});

/**
 * One ListKeys call; `token` goes on with the last token handed out for this very listing
 * (`next`), picks any token handed out (`handed`: mostly another listing's), or holds any text.
 */
export interface ListInput {
  readonly pool: string;
  readonly state: number;
  readonly pageSize: number;
  readonly token: { readonly text: string } | { readonly handed: number } | { readonly next: true };
}

/** ListKeys inputs: page sizes 0 to 2^32 - 1, states beyond the enum, tokens handed out, foreign or garbage. */
export const listInput: fc.Arbitrary<ListInput> = fc.record({
  pool: poolText,
  state: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(4, 5, 99, 2 ** 31 - 1, -1, -(2 ** 31)) },
  ),
  pageSize: fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 1_000 }) },
    { weight: 2, arbitrary: fc.oneof(fc.constant(1_001), fc.integer({ min: 1_001, max: 2 ** 32 - 1 })) },
  ),
  token: fc.oneof(
    { weight: 3, arbitrary: fc.constant({ text: "" }) },
    { weight: 3, arbitrary: fc.constant({ next: true as const }) },
    { weight: 2, arbitrary: fc.record({ handed: fc.nat() }) },
    { weight: 1, arbitrary: token(24, 24).map((text) => ({ text })) },
    { weight: 1, arbitrary: fc.oneof(malformedLease(200), fc.string({ unit: "binary", maxLength: 60 })).map((text) => ({ text })) },
  ),
});
