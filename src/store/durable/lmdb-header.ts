import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";

/** LMDB's stamp at the start of each of its two meta pages. */
const MAGIC = 0xbeefc0de;
/** Bytes of an LMDB page header; the meta record follows it. */
const PAGE_HEADER = 24;
/**
 * Offsets inside the meta record (the 64-bit layout): the page size sits in the free-page tree's
 * record, each tree's root 40 bytes into its 48-byte record.
 */
const META = { magic: 0, pageSize: 24, freeRoot: 64, mainRoot: 112, lastPage: 120, txnId: 128, bootId: 136 } as const;
/** The smallest and largest page sizes LMDB uses. */
const MIN_PAGE = 512;
const MAX_PAGE = 65_536;
/** An empty tree's root. */
const NO_PAGE = 0xffff_ffff_ffff_ffffn;

/** What the header of an LMDB data file says about the file. */
export interface HeaderVerdict {
  /** Why the file certainly cannot be opened, if it cannot. */
  readonly damage?: string;
  /**
   * The file ends before the last page the meta counts. LMDB itself leaves such a tail of unwritten
   * free pages at times; so does a truncated copy, which crashes the engine on read.
   */
  readonly shortTail: boolean;
}

/**
 * Reads the two meta pages of an LMDB data file BEFORE the engine maps it: LMDB trusts its file,
 * and a garbage or truncated one crashes the process (SIGSEGV, SIGBUS) instead of failing. Checks
 * both pages' magic and page size, and that the roots of the meta the engine will pick lie inside
 * the file. Damage deeper inside the tree is not seen here. O(1).
 */
export async function readLmdbHeader(file: string): Promise<HeaderVerdict> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 2 * MAX_PAGE));
    await handle.read(head, 0, head.length, 0);
    const first = readMeta(head, 0);
    if (!first) return { damage: `it is not an LMDB data file (no valid meta page at its start; ${size} bytes)`, shortTail: false };
    const second = readMeta(head, first.pageSize);
    if (!second || second.pageSize !== first.pageSize) return { damage: "its second meta page is damaged", shortTail: false };
    const meta = pickMeta(first, second);
    const pages = BigInt(Math.floor(size / first.pageSize));
    if ([meta.freeRoot, meta.mainRoot].some((root) => root !== NO_PAGE && root >= pages)) {
      return { damage: `it is truncated (${size} bytes): a tree's root page lies past its end`, shortTail: true };
    }
    return { shortTail: meta.lastPage >= pages };
  } finally {
    await handle.close();
  }
}

interface Meta {
  readonly pageSize: number;
  readonly freeRoot: bigint;
  readonly mainRoot: bigint;
  readonly lastPage: bigint;
  readonly txnId: bigint;
  readonly bootId: bigint;
}

function readMeta(head: Buffer, offset: number): Meta | undefined {
  const at = offset + PAGE_HEADER;
  if (head.length < at + META.bootId + 8) return undefined;
  if (head.readUInt32LE(at + META.magic) !== MAGIC) return undefined;
  const pageSize = head.readUInt32LE(at + META.pageSize);
  if (pageSize < MIN_PAGE || pageSize > MAX_PAGE || (pageSize & (pageSize - 1)) !== 0) return undefined;
  return {
    pageSize,
    freeRoot: head.readBigUInt64LE(at + META.freeRoot),
    mainRoot: head.readBigUInt64LE(at + META.mainRoot),
    lastPage: head.readBigUInt64LE(at + META.lastPage),
    txnId: head.readBigUInt64LE(at + META.txnId),
    bootId: head.readBigInt64LE(at + META.bootId),
  };
}

/**
 * The meta lmdb-js opens (its `mdb_pick_meta` with overlapping sync): the newest, unless it was
 * written before the machine last booted, when the newest may not be fully flushed and the older
 * one is used.
 */
function pickMeta(a: Meta, b: Meta): Meta {
  const [newer, older] = a.txnId >= b.txnId ? [a, b] : [b, a];
  const boot = currentBootId();
  return boot !== undefined && newer.bootId !== boot && older.txnId > 0n ? older : newer;
}

/** Linux's boot id as LMDB reads it (strtoll of its first hex group), or undefined elsewhere. */
function currentBootId(): bigint | undefined {
  try {
    const text = readFileSync("/proc/sys/kernel/random/boot_id", "latin1");
    return BigInt.asIntN(64, BigInt(`0x${text.slice(0, text.indexOf("-"))}`));
  } catch {
    return undefined;
  }
}
