import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.js";

/** What the HTTP probes answer from. */
export interface Probes {
  /** Ready: the store is reachable and the server is not shutting down (health SERVING). */
  ready(): boolean;
}

const PATHS = "try /metrics, /healthz or /readyz";

/**
 * Serves, over plain HTTP on `host:port`: `GET /metrics` (Prometheus text format), `GET /healthz`
 * (200 while the process runs: liveness) and `GET /readyz` (200 while health is SERVING, else
 * 503: readiness), for environments whose probes cannot speak gRPC (e.g. mTLS on the gRPC port).
 * Resolves with the bound port. O(1) per probe; a scrape is O(series).
 */
export async function serveMetrics(metrics: Metrics, probes: Probes, host: string, port: number): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end(`method not allowed: ${PATHS}\n`);
      return;
    }
    const path = req.url?.split("?", 1)[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = probes.ready();
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? "ready\n" : "not ready: the store cannot serve or the server is shutting down\n");
    } else if (path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end("metrics unavailable\n"),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${PATHS}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return { port: (server.address() as AddressInfo).port, server };
}
