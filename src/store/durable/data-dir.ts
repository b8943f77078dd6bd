import { access, constants, mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The file that marks a directory as a keypool data dir, and names its format. */
export const MARKER_FILE = "keypool.json";
/** The engine's data file inside the data dir. */
export const DATA_FILE = "data.mdb";
/** The on-disk format this code reads and writes. */
export const FORMAT = 1;

/**
 * What a data dir held when it was opened. `marker` is "none" for a new dir, "new" when a first
 * open was interrupted before the database was set up, "ready" once it was (from then on an empty
 * or missing database is damage, never a fresh start).
 */
export interface DirState {
  readonly marker: "none" | "new" | "ready";
  /** `data.mdb` was there before the engine opened it. */
  readonly hasData: boolean;
}

/**
 * An error about the data dir, naming its path and what to do. Thrown while opening: a damaged or
 * unreadable data dir is never silently replaced by an empty pool.
 */
export class DataDirError extends Error {
  override readonly name = "DataDirError";

  constructor(dir: string, problem: string, fix: string, options?: { cause?: unknown }) {
    super(`data dir ${dir}: ${problem}; ${fix}`, options);
  }
}

/**
 * Makes sure `dir` is a directory this process may read and write (creating it if missing) and
 * reads its marker. Throws DataDirError for a file in its place, missing permissions, an unknown
 * format, a ready dir whose data file is gone, or a data file without a marker (not ours). O(1).
 */
export async function inspectDataDir(dir: string): Promise<DirState> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw ioError(dir, err);
  });
  if (!info) await makeDir(dir).catch((err: NodeJS.ErrnoException) => { throw ioError(dir, err); });
  else if (!info.isDirectory()) {
    throw new DataDirError(dir, "is not a directory", "point --data-dir at a directory (it is created if missing)");
  }
  await access(dir, constants.R_OK | constants.W_OK | constants.X_OK).catch((err: NodeJS.ErrnoException) => {
    throw ioError(dir, err);
  });
  const marker = await readMarker(dir);
  const hasData = await exists(join(dir, DATA_FILE));
  if (marker === "ready" && !hasData) {
    throw new DataDirError(dir, `${DATA_FILE} is missing although ${MARKER_FILE} says the dir holds a pool`,
      `restore ${DATA_FILE} from a backup, or point --data-dir at an empty directory to start over`);
  }
  if (marker === "none" && hasData) {
    throw new DataDirError(dir, `holds a ${DATA_FILE} but no ${MARKER_FILE}: it is not a keypool data dir`,
      "point --data-dir at an empty directory or at one keypool created");
  }
  return { marker, hasData };
}

/** Writes the marker durably (temp file, fsync, rename, fsync of the dir). Idempotent. */
export async function writeMarker(dir: string, ready: boolean): Promise<void> {
  const tmp = join(dir, `${MARKER_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify({ format: FORMAT, engine: "lmdb", ready })}\n`, { flush: true });
  await rename(tmp, join(dir, MARKER_FILE));
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readMarker(dir: string): Promise<DirState["marker"]> {
  const text = await readFile(join(dir, MARKER_FILE), "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw ioError(dir, err);
  });
  if (text === undefined) return "none";
  let marker: { format?: unknown; ready?: unknown } = {};
  try {
    marker = JSON.parse(text) as typeof marker;
  } catch {
    // Reported below, as any other damage.
  }
  if (marker.format !== FORMAT || typeof marker.ready !== "boolean") {
    throw new DataDirError(dir, `${MARKER_FILE} is damaged or names an unknown format`,
      `this keypool reads format ${FORMAT}; use the keypool version that wrote the dir, or restore it from a backup`);
  }
  return marker.ready ? "ready" : "new";
}

/**
 * Creates `dir` and any missing parents. Unlike `mkdir({ recursive: true })`, which loops forever
 * where a parent exists but refuses new entries with ENOENT (`/proc/x`), it gives up there.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir || (await exists(parent))) throw err;
    await makeDir(parent);
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== "EEXIST") throw again;
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return false;
    throw err;
  });
}

/** The error for a data file that cannot be trusted: names the dir, the damage and the way out. */
export function damagedData(dir: string, damage: string, cause?: unknown): DataDirError {
  return new DataDirError(dir, `${DATA_FILE} is damaged: ${damage}`,
    "restore the dir from a backup, or point --data-dir at an empty directory to start over (every key is lost then)", { cause });
}

/** Turns a file-system error on the data dir into a message that names the path and the fix. */
export function ioError(dir: string, err: NodeJS.ErrnoException): DataDirError {
  const fixes: Record<string, string> = {
    EACCES: "permission denied: give the keypool user read and write access",
    EPERM: "operation not permitted: give the keypool user read and write access",
    ENOTDIR: "a part of the path is a file, not a directory: pick another path",
    EROFS: "the file system is read-only: pick a writable path",
    ENOSPC: "the disk is full: free space",
    ENOENT: "the directory cannot be created there (its parent takes no new entries, as in /proc): pick another path",
  };
  const fix = fixes[err.code ?? ""] ?? "check the path and its permissions";
  return new DataDirError(dir, `cannot be used (${err.code ?? err.message})`, fix, { cause: err });
}
