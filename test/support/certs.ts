import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM material made at test time: a CA, a server certificate for 127.0.0.1, a client certificate. */
export interface TestCerts {
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** Paths of the same files, for flags. */
  readonly dir: string;
  cleanup(): void;
}

/** Makes fresh certificates with openssl (Debian's; present on every machine here). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "keypool-certs-"));
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=keypool test CA", "-keyout", "ca.key", "-out", "ca.pem");
  const sign = (name: string, subject: string, ext: string): void => {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
      "-extfile", `${name}.ext`, "-out", `${name}.pem`);
  };
  sign("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  sign("client", "/CN=keypool test worker", "extendedKeyUsage=clientAuth\n");
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return {
    ca: read("ca.pem"), serverCert: read("server.pem"), serverKey: read("server.key"),
    clientCert: read("client.pem"), clientKey: read("client.key"), dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
