import { EmbeddedPools } from "../../src/store/embedded-pools.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { describeStoreConformance } from "./conformance.js";
import type { StoreSettings } from "./harness.js";

async function openDurable(settings: StoreSettings) {
  const dir = await makeTempDir("conformance");
  const store = await EmbeddedStore.open({ ...settings, dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await removeDir(dir);
    },
  };
}

describeStoreConformance("durable", openDurable, {
  capabilities: {
    // The named pools of one data dir: one journal for all of them.
    poolSet: async (settings) => {
      const dir = await makeTempDir("conformance-pools");
      const pools = await EmbeddedPools.open({ ...settings, dataDir: dir, defaultPool: "home", maxPools: 5 });
      return { pools, cleanup: async () => (await pools.close(), await removeDir(dir)) };
    },
    // A failed disk write, as the journal meets it (ENOSPC, EIO): the store stops serving.
    faulty: async (settings) => {
      const sut = await openDurable(settings);
      return { ...sut, fail: async () => sut.store.dataDir!.fail(new Error("EIO: i/o error, write (injected by the test)")) };
    },
  },
});
