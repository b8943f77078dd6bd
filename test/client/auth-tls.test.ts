import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createKeyPoolClient } from "../../src/index.js";
import type { KeyPoolClient, KeyPoolClientOptions } from "../../src/index.js";
import { TokenRegistry, hashToken } from "../../src/server/auth.js";
import { makeCerts } from "../support/certs.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const certs = makeCerts();
const dir = mkdtempSync(join(tmpdir(), "keypool-client-auth-"));
afterAll(() => {
  certs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = "admin-token-for-client-tests";
const WORKER_TOKEN = "worker-token-for-client-tests";
const authFile = join(dir, "auth.json");
writeFileSync(authFile, JSON.stringify({
  tokens: [
    { name: "ops", role: "admin", sha256: hashToken(TOKEN) },
    { name: "workers", role: "worker", sha256: hashToken(WORKER_TOKEN) },
  ],
}));
const access = { tokens: new TokenRegistry(authFile), allowInsecureRemote: false, reflection: "open" } as const;

let t: TestServer;
const clients: KeyPoolClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await t.close();
});

/** A client of `t`; TLS clients dial `localhost` (the certificate's name; an IP as TLS server name is deprecated). */
function client(options: KeyPoolClientOptions): KeyPoolClient {
  const address = options.tls ? `localhost:${t.server.port}` : t.address;
  const c = createKeyPoolClient(address, { retry: false, ...options });
  clients.push(c);
  return c;
}

async function code(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "OK",
    (err: { code: string }) => err.code,
  );
}

describe("client credentials", () => {
  it("sends the token as a bearer token on every call and on the keepalive stream", async () => {
    t = await startTestServer({ server: { access } });
    const withToken = client({ token: TOKEN });
    const [k] = await withToken.generateKeys(1);
    const hold = withToken.hold(k!.key);
    await once(hold, "renewed");
    hold.stop();
    expect(await code(client({}).getPoolStats())).toBe("UNAUTHENTICATED");
    expect(await code(client({ token: "wrong-token" }).getPoolStats())).toBe("UNAUTHENTICATED");
  });

  it("hold() with a worker token, which may not call GetPoolStats, learns the TTL from KeepAliveKey", async () => {
    t = await startTestServer({ server: { access } });
    const [k] = await client({ token: TOKEN }).generateKeys(1);
    const worker = client({ token: WORKER_TOKEN });
    const hold = worker.hold(k!.key);
    await once(hold, "renewed");
    expect(worker.holdIntervalMs).toBe(100_000);
    hold.stop();
    const told = client({ token: WORKER_TOKEN, keepaliveTtlMs: 30_000 });
    const again = told.hold(k!.key);
    await once(again, "renewed");
    expect(told.holdIntervalMs).toBe(10_000);
  });

  it("connects over TLS with a CA, and fails against TLS in plaintext", async () => {
    t = await startTestServer({
      credentials: grpc.credentials.createSsl(certs.ca),
      server: { tls: { cert: certs.serverCert, key: certs.serverKey } },
    });
    expect(await code(client({ tls: { ca: certs.ca } }).getPoolStats())).toBe("OK");
    expect(await code(client({}).getPoolStats())).toBe("UNAVAILABLE");
  });

  it("presents a client certificate for mutual TLS", async () => {
    t = await startTestServer({
      credentials: grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert),
      server: { tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } },
    });
    expect(await code(client({ tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } }).getPoolStats())).toBe("OK");
    expect(await code(client({ tls: { ca: certs.ca } }).getPoolStats())).toBe("UNAVAILABLE");
  });
});
