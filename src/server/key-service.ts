import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import type { ServiceImpl } from "../grpc/typed-server.js";
import type { KeyStore } from "../store/key-store.js";
import { keyInfoMessage, statsMessage } from "./convert.js";
import { keepAliveStream } from "./keepalive-stream.js";
import type { StreamRegistry } from "./stream-registry.js";

/**
 * The KeyService handlers: short shims from wire messages to the store and back. Validation and
 * semantics live in the store; errors are mapped to statuses by the adapter.
 */
export function keyServiceImpl(store: KeyStore, streams: StreamRegistry): ServiceImpl<typeof KeyService> {
  return {
    generateKeys: async ({ count }) => ({ keys: (await store.generate(count)).map(keyInfoMessage) }),
    acquireKey: async () => ({ key: keyInfoMessage(await store.acquire()) }),
    releaseKey: async ({ key, leaseId }) => ({ key: keyInfoMessage(await store.release(key, leaseId || undefined)) }),
    deleteKey: async ({ key }) => {
      await store.delete(key);
      return {};
    },
    keepAliveKey: async ({ key }) => ({ key: keyInfoMessage(await store.keepAlive(key)) }),
    keepAlive: (call, context) => keepAliveStream(store, streams, call, context),
    getKey: async ({ key }) => ({ key: keyInfoMessage(await store.get(key)) }),
    getPoolStats: async () => statsMessage(await store.stats()),
  };
}

export { KeyService };
