import { ManualScheduler } from "../../src/scheduler.js";
import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("memory", async (settings) => {
  const store = EmbeddedStore.memory({ ...settings, scheduler: new ManualScheduler(settings.clock) });
  return { store, cleanup: () => store.close() };
});
