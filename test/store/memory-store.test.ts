import { EmbeddedStore } from "../../src/store/embedded-store.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("memory", async (settings) => {
  const store = EmbeddedStore.memory(settings);
  return { store, cleanup: () => store.close() };
});
