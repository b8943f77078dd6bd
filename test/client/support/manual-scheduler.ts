/** The shared ManualScheduler (src/scheduler.ts), where the client tests have always found it. */
export { ManualScheduler } from "../../../src/scheduler.js";
