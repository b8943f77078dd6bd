import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { makeTempDir, removeDir } from "../support/durable-dirs.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("durable", async (settings) => {
  const dir = await makeTempDir("conformance");
  const store = await EmbeddedStore.open({ ...settings, scheduler: new ManualScheduler(settings.clock), dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await removeDir(dir);
    },
  };
});
