/**
 * `n` distinct keys shaped like an LLM provider's: 51 characters, `sk-proj-<tag>-` then a
 * zero-padded number, so each test (tag) has keys of its own. Deterministic.
 */
export function providerKeys(n: number, tag = "a"): string[] {
  return Array.from({ length: n }, (_, i) => `sk-proj-${tag}-${String(i).padStart(42 - tag.length, "0")}`);
}
