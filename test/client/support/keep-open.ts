import type { KeyStore } from "../../../src/store/key-store.js";

/** `store` with a no-op `close`, so it outlives a server's shutdown and can be served again. */
export function keepOpen(store: KeyStore): KeyStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "close") return async () => {};
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
