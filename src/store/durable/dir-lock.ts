import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DataDirError, ioError } from "./data-dir.js";

/** The lock file inside a data dir: the pid of the process that has the dir open. */
export const LOCK_FILE = "keypool.lock";

/** Data dirs this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

/** An exclusive hold on a data dir; `release` is idempotent. */
export interface DirLock {
  release(): Promise<void>;
}

/**
 * Takes the data dir for this process: two servers on one dir would hand out the same key twice.
 * A lock left by a process that no longer runs (killed, crashed) is taken over. Throws
 * DataDirError naming the holder when the dir is in use. O(1).
 */
export async function lockDataDir(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  const id = resolve(dir);
  if (heldHere.has(id)) {
    throw new DataDirError(dir, "is already open in this process", "close the other store first");
  }
  if (!(await tryCreate(dir, path))) {
    const holder = await readHolder(path);
    if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
      throw new DataDirError(dir, `is in use by process ${holder} (${LOCK_FILE})`,
        `stop that keypool first; if no keypool runs on this dir, delete ${path}`);
    }
    // The holder is gone: its lock is stale. (Our own pid here is a previous life of this
    // process's pid, e.g. pid 1 in a restarted container.)
    await writeFile(path, `${process.pid}\n`).catch((err: NodeJS.ErrnoException) => { throw ioError(dir, err); });
  }
  heldHere.add(id);
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      heldHere.delete(id);
      await rm(path, { force: true });
    },
  };
}

async function tryCreate(dir: string, path: string): Promise<boolean> {
  try {
    await writeFile(path, `${process.pid}\n`, { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw ioError(dir, err as NodeJS.ErrnoException);
  }
}

async function readHolder(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
