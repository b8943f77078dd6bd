import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/keypool/v1/keypool_pb.js";
import { createTypedClient } from "../../src/grpc/typed-client.js";
import { makeCerts } from "../support/certs.js";
import { startTestServer } from "../support/test-server.js";
import type { TestServer } from "../support/test-server.js";

const certs = makeCerts();
afterAll(() => certs.cleanup());
let t: TestServer;
afterEach(() => t.close());

const stats = (address: string, creds: grpc.ChannelCredentials): Promise<unknown> => {
  const client = createTypedClient(KeyService, address, creds);
  return client.getPoolStats({}, { timeoutMs: 3_000 }).finally(() => client.close());
};

describe("TLS", () => {
  it("serves TLS to a client that trusts the CA, and nothing to a plaintext client", async () => {
    const credentials = grpc.credentials.createSsl(certs.ca);
    t = await startTestServer({ credentials, server: { tls: { cert: certs.serverCert, key: certs.serverKey } } });
    await expect(t.client.getPoolStats({})).resolves.toMatchObject({ total: 0n });
    await expect(stats(t.address, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("mutual TLS: requires a client certificate signed by the client CA", async () => {
    const credentials = grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert);
    t = await startTestServer({
      credentials,
      server: { tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } },
    });
    await expect(t.client.getPoolStats({})).resolves.toMatchObject({ total: 0n });
    await expect(stats(t.address, grpc.credentials.createSsl(certs.ca))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});
