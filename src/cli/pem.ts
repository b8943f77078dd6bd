import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/** What a PEM file given to a `--tls-*` flag must hold. */
export type PemKind = "certificate" | "private key";

/**
 * Reads the PEM file given to `--flag` and checks that it holds a `kind` (the first certificate
 * of a chain, or an unencrypted private key), so that a wrong or broken file fails at once with
 * a message naming the flag and the file rather than later inside the TLS library. `fail` makes
 * the caller's error type (exit code 2 either way).
 */
export function readPemFile(flag: string, path: string, kind: PemKind, fail: (message: string) => Error): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw fail(`cannot read --${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    if (kind === "certificate") new X509Certificate(pem);
    else createPrivateKey(pem);
  } catch (err) {
    const reason = ((err as Error).message.split("\n")[0] ?? "").replace(/^error:[0-9A-F]+:[^:]*:+/, "");
    throw fail(`--${flag} ${path} is not a PEM ${kind}: ${reason}`);
  }
  return pem;
}
