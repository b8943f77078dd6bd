import { DurableStore } from "../../src/store/durable-store.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("durable", async (settings) => {
  const dir = await makeTempDir("conformance");
  const store = await DurableStore.open({ ...settings, dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await removeDir(dir);
    },
  };
});
