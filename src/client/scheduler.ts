/**
 * The client's time and timers: the one shared Scheduler (see src/scheduler.ts). Its gRPC
 * deadlines always use the wall clock, because grpc-js enforces them.
 */
export { sleep, systemScheduler } from "../scheduler.js";
export type { Scheduler, TimerHandle } from "../scheduler.js";
