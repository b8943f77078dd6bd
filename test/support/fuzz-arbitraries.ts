import fc from "fast-check";

/**
 * fast-check arbitraries for the fuzz tests: the string shapes a careless or hostile client sends
 * in key and lease id fields. Written from the documented format (proto comments), not from the
 * server's validator, so they check the validator instead of repeating it.
 */

/** The documented format of a key: 8 to 512 characters of printable ASCII without spaces. */
export const KEY_SHAPE = /^[\x21-\x7e]{8,512}$/;
/** The documented shape of a key the server generates. */
export const GENERATED_KEY_SHAPE = /^kp_[A-Za-z0-9_-]{24}$/;
/** The documented shape of a lease id. */
export const LEASE_SHAPE = /^[A-Za-z0-9_-]{24}$/;
/** Something shaped like a whole key anywhere in a text: error details must never match it. */
export const KEY_ANYWHERE = /kp_[A-Za-z0-9_-]{24}/;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const alphabetChar = fc.constantFrom(...ALPHABET);

/** Characters that are not in the key alphabet but look close: base64 leftovers, controls, unicode. */
const strangeChar = fc.oneof(
  fc.constantFrom("+", "/", "=", " ", ".", "~", "%", "\0", "\n", "\t", "é", "ß", "Ａ", "р"),
  fc.constantFrom("\u0301", "\u200b", "\ufeff", "\uffff", "\ud800", "😀"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => !ALPHABET.includes(c)),
);

/** `n` to `m` characters of the key alphabet. */
export function token(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: alphabetChar, minLength, maxLength, size: "max" });
}

/** A well-formed key; with overwhelming odds one the server never made. */
export const wellFormedKey: fc.Arbitrary<string> = token(24, 24).map((t) => `kp_${t}`);

/** A well-formed lease id; with overwhelming odds one the server never issued. */
export const wellFormedLease: fc.Arbitrary<string> = token(24, 24);

/** Replaces one character of `base` (at `at` modulo its length) with `c`. */
function spoil(base: string, at: number, c: string): string {
  const i = at % base.length;
  return base.slice(0, i) + c + base.slice(i + 1);
}

/** A long run of one character: big strings without generating them character by character. */
function longString(min: number, max: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.oneof(alphabetChar, strangeChar), fc.integer({ min, max }), wellFormedKey)
    .map(([c, n, key]) => (n % 2 === 0 ? c.repeat(n) : key + c.repeat(n)));
}

/** Wrong prefixes, including ones that differ only in case or by a look-alike letter. */
const wrongPrefix = fc.constantFrom("", "KP_", "Kp_", "kP_", "kp-", "kp", "k_", "pk_", "kp__", "kр_", "ｋp_", "kp_kp_", " kp_");

/**
 * A string that is NOT a well-formed key: empty, too short, a space, a control or non-ASCII
 * character anywhere, padded, arbitrary unicode, or too long (up to `maxLong` characters).
 */
export function malformedKey(maxLong = 20_000): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constant(""),
      token(0, 4).map((t) => `kp_${t}`),
      fc.tuple(wrongPrefix, token(0, 4)).map(([p, t]) => p + t),
      fc.tuple(wellFormedKey, fc.nat(), strangeChar).map(([k, at, c]) => `kp_${spoil(k.slice(3), at, c)}`),
      fc.tuple(wellFormedKey, fc.constantFrom(" ", "\n", "\0", "\r\n", "\t")).map(([k, pad]) => k + pad),
      fc.tuple(wellFormedKey, fc.constantFrom(" ", "\ufeff", "\u200b")).map(([k, pad]) => pad + k),
      fc.string({ unit: "binary", maxLength: 40, size: "max" }),
      fc.string({ unit: "grapheme", minLength: 20, maxLength: 30, size: "max" }),
      longString(Math.min(513, maxLong), maxLong),
    )
    .filter((s) => !KEY_SHAPE.test(s));
}

/** A non-empty string that is NOT a well-formed lease id (an empty lease id means "no lease"). */
export function malformedLease(maxLong = 20_000): fc.Arbitrary<string> {
  return fc
    .oneof(
      token(1, 60),
      fc.tuple(wellFormedLease, fc.nat(), strangeChar).map(([l, at, c]) => spoil(l, at, c)),
      wellFormedKey,
      fc.tuple(wellFormedLease, fc.constantFrom(" ", "\n", "\0", "=")).map(([l, pad]) => l + pad),
      fc.string({ unit: "binary", minLength: 1, maxLength: 40, size: "max" }),
      longString(100, maxLong),
    )
    .filter((s) => s !== "" && !LEASE_SHAPE.test(s));
}

/** Shortens a fuzz input for a failure message: never a whole key, never megabytes. */
export function describeInput(s: string): string {
  const head = JSON.stringify(s.slice(0, 12));
  return s.length <= 12 ? head : `${head}… (${s.length} chars)`;
}
