import { EmbeddedPools } from "../../src/store/embedded-pools.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance(
  "memory",
  async (settings) => {
    const store = EmbeddedStore.memory(settings);
    return { store, cleanup: () => store.close() };
  },
  {
    capabilities: {
      poolSet: async (settings) => {
        const pools = await EmbeddedPools.open({ ...settings, defaultPool: "home", maxPools: 5 });
        return { pools, cleanup: () => pools.close() };
      },
    },
  },
);
