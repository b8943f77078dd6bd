import { systemClock } from "../clock.js";
import { systemRandom } from "../random.js";
import type { KeyStore } from "../store/key-store.js";
import { MemoryStore } from "../store/memory-store.js";
import type { ServeConfig } from "./config.js";

/** Opens the store the configuration names. */
export async function openStore(config: ServeConfig): Promise<KeyStore> {
  const settings = {
    blockTtlMs: config.blockTtlMs,
    keepaliveTtlMs: config.keepaliveTtlMs,
    maxKeys: config.maxKeys,
    clock: systemClock,
    random: systemRandom,
  };
  return new MemoryStore(settings);
}
