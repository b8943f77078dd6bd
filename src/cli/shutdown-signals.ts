import { constants } from "node:os";

/** The signals that stop `keypool serve` (and `keepalive --hold`). */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * How long after the first stop signal another one is taken as a copy of it, not as a second
 * request. One Ctrl-C under `npm start` arrives twice (the terminal signals the whole process
 * group, and npm forwards what it got to its child); so does one `systemctl stop` of a unit
 * whose processes all share the control group.
 */
export const SIGNAL_REPEAT_WINDOW_MS = 250;

/** The exit code of a process that stopped because of `signal` without finishing: 128 + its number. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** What to do on the first stop signal, and on a later one. */
export interface StopHandlers {
  first(signal: StopSignal): void;
  again(signal: StopSignal): void;
}

/**
 * Calls `first` on the first SIGINT or SIGTERM and `again` on any later one that arrives more
 * than SIGNAL_REPEAT_WINDOW_MS after it (copies within the window are ignored). Returns a
 * function that removes the listeners. `now` is injectable for tests.
 */
export function onStopSignals(handlers: StopHandlers, target: NodeJS.EventEmitter = process, now: () => number = Date.now): () => void {
  let firstAt: number | undefined;
  const listener = (signal: StopSignal): void => {
    if (firstAt === undefined) {
      firstAt = now();
      handlers.first(signal);
    } else if (now() - firstAt > SIGNAL_REPEAT_WINDOW_MS) handlers.again(signal);
  };
  for (const signal of STOP_SIGNALS) target.on(signal, listener);
  return () => {
    for (const signal of STOP_SIGNALS) target.off(signal, listener);
  };
}
