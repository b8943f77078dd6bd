import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { flockSync } from "fs-ext";
import { DataDirError, ioError } from "./data-dir.js";

/**
 * The lock file inside a data dir. Its content (the holder's pid) is only a hint for people: the
 * lock itself is the kernel's `flock` on the file, which the kernel drops when the holder dies.
 */
export const LOCK_FILE = "keypool.lock";

/** Data dirs this process holds, so a second open in the same process gets a message of its own. */
const heldHere = new Set<string>();

/** An exclusive hold on a data dir. */
export interface DirLock {
  /**
   * Why the dir this lock was taken in is no longer the one at its path (deleted, or replaced by
   * another), or undefined while it still is. One `stat`, off the event loop.
   */
  check(): Promise<string | undefined>;
  /** Drops the lock (the file stays: deleting it would let two servers lock two files). Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the data dir for this process with an exclusive `flock(2)` on `keypool.lock`: two servers
 * on one dir would hand out the same key twice. The kernel releases the lock when the process
 * ends, however it ends, so nothing is ever stale; unlike a pid file it holds across PID
 * namespaces (containers on a shared volume) because it belongs to the open file, not to a pid.
 * Throws DataDirError when another process (or this one) holds the dir. O(1).
 */
export async function lockDataDir(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  const id = resolve(dir);
  if (heldHere.has(id)) {
    throw new DataDirError(dir, "is already open in this process", "close the other store first");
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  } catch (err) {
    throw ioError(dir, err as NodeJS.ErrnoException);
  }
  try {
    flockSync(fd, "exnb");
  } catch (err) {
    const holder = readHolder(fd);
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EAGAIN" && code !== "EWOULDBLOCK") throw ioError(dir, err as NodeJS.ErrnoException);
    throw new DataDirError(dir, `is in use by another keypool (${LOCK_FILE} is locked${holder ? ` by pid ${holder}, as seen in its own PID namespace` : ""})`,
      "stop that keypool first, or point --data-dir at another directory (the lock ends with its holder, so there is nothing to clean up)");
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch (err) {
    closeSync(fd);
    throw ioError(dir, err as NodeJS.ErrnoException);
  }
  const opened = fstatSync(fd);
  heldHere.add(id);
  let held = true;
  return {
    async check() {
      const now = await stat(path).catch((err: NodeJS.ErrnoException) => err);
      if (now instanceof Error) return now.code === "ENOENT" ? `${LOCK_FILE} is gone: the data dir was deleted or moved` : `${LOCK_FILE} cannot be read (${now.code ?? now.message})`;
      if (now.ino !== opened.ino || now.dev !== opened.dev) return "the data dir was replaced by another directory";
      return undefined;
    },
    async release() {
      if (!held) return;
      held = false;
      heldHere.delete(id);
      flockSync(fd, "un");
      closeSync(fd);
    },
  };
}

/** The pid the holder wrote, for the message only. */
function readHolder(fd: number): string | undefined {
  try {
    const buf = Buffer.alloc(32);
    const text = buf.toString("latin1", 0, readSync(fd, buf, 0, buf.length, 0)).trim();
    return /^\d{1,10}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
