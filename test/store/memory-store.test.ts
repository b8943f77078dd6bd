import { MemoryStore } from "../../src/store/memory-store.js";
import { describeStoreConformance } from "./conformance.js";

describeStoreConformance("memory", async (settings) => {
  const store = new MemoryStore(settings);
  return { store, cleanup: () => store.close() };
});
