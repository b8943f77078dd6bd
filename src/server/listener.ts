import { lookup } from "node:dns/promises";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { ConnectionGate, peerOf } from "./connection-gate.js";
import type { ConnectionLimits } from "./connection-gate.js";

/** The address given to listen on cannot be used (unknown host, port taken, no permission). */
export class BindError extends Error {
  override readonly name = "BindError";
}

/** Listening sockets; `close()` stops accepting (open connections are grpc-js's to end). */
export interface Listening {
  /** The port bound (the one asked for, or the one picked for 0). */
  readonly port: number;
  close(): void;
}

const deadlinePassed = (deadline: grpc.Deadline): boolean => (deadline instanceof Date ? deadline.getTime() : deadline) <= Date.now();

/**
 * The server's own TCP listener in front of grpc-js (handed over through grpc-js's public
 * connection injector): every connection passes the gate (`--max-connections`,
 * `--max-connections-per-peer`, refused addresses), and calls that ended before their request
 * arrived (cancelled, or refused at once) are charged to their address's reset budget
 * (`--max-resets`), so a rapid-reset
 * client is cut off after a handful of streams instead of the thousand nghttp2 allows per
 * connection (and cannot come straight back). O(1) per connection and per call.
 */
export class ConnectionGuard {
  readonly gate: ConnectionGate;
  private readonly sockets = new Map<string, net.Socket>();

  constructor(limits: ConnectionLimits, clock: Clock, private readonly log: Logger) {
    this.gate = new ConnectionGate(limits, clock);
  }

  /**
   * A grpc-js interceptor (register it first, innermost) that charges a call to its address when
   * it ended before its request message arrived (HEADERS then RST_STREAM: the rapid-reset
   * pattern; grpc-js reports every end as a cancel), also when the server refused it before the
   * message came, unless its deadline passed or its
   * connection is already gone (a dropped connection ends all its calls: not an attack). A
   * client that sends whole requests and then resets is served like any other; nghttp2's own
   * limit (1,000 resets per connection) and the connection limits bound it.
   */
  interceptor(): grpc.ServerInterceptor {
    return (_method, call) => {
      let answered = false;
      let requestEnded = false;
      return new grpc.ServerInterceptingCall(call, {
        start: (next) => {
          let gotMessage = false;
          next({
            onReceiveMessage: (message, proceed) => {
              gotMessage = true;
              proceed(message);
            },
            onReceiveHalfClose: (proceed) => {
              requestEnded = true;
              proceed();
            },
            onCancel: () => {
              if (!gotMessage) this.cancelled(call, answered);
            },
          });
        },
        // A call the server answered while its request was still coming (refused for a missing
        // token, over a limit...) was not reset by its client, but grpc-js reports its end as a
        // cancel too, and it is charged all the same: streams opened and reset against a server
        // that wants a token are refused at their HEADERS, before the reset arrives, and when
        // such refusals went free a flood of them from 30 addresses was never cut off and
        // exhausted a 96 MB heap (npm run soak:floods -- --attack rapid-reset). A client without
        // a token thus has --max-resets refused calls per window. A reset stream ends its request
        // first (grpc-js then answers "no request message" itself), so only statuses sent before
        // the request ended count as answers, for the log line.
        // Registered first, this interceptor sees every status, also the outer interceptors'.
        sendStatus: (status, next) => {
          if (!requestEnded) answered = true;
          next(status);
        },
      });
    };
  }

  /** Charges a call that ended without a request message (`answered`: refused by the server first). */
  private cancelled(call: grpc.ServerInterceptingCallInterface, answered: boolean): void {
    if (deadlinePassed(call.getDeadline())) return;
    const { remoteAddress, remotePort } = call.getConnectionInfo();
    if (this.sockets.get(`${remoteAddress}:${remotePort}`)?.destroyed !== false) return;
    const address = peerOf(remoteAddress);
    if (this.gate.reset(address)) {
      const what = answered ? "had too many calls refused before their request arrived" : "cancelled too many calls";
      this.log.warn({ peer: address }, `closed every connection of a peer that ${what} (--max-resets); refusing it for a while`);
    }
  }

  /** Takes a new TCP connection: hands it to grpc-js, or closes it at once when the gate refuses. */
  accept(socket: net.Socket, inject: (socket: net.Socket) => void): void {
    socket.on("error", () => {}); // HTTP/2 (or TLS) reports and closes; never an uncaught error
    const address = peerOf(socket.remoteAddress);
    const refusal = this.gate.admit(address, socket);
    if (refusal !== undefined) {
      this.log.debug({ peer: address, reason: refusal }, "connection refused");
      socket.destroy();
      return;
    }
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sockets.set(key, socket);
    socket.once("close", () => {
      this.sockets.delete(key);
      this.gate.leave(address, socket);
    });
    inject(socket);
  }
}

function listenOn(server: net.Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address, port }, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Listens on every address `host` resolves to (an IP literal such as `::` or `0.0.0.0` is used
 * as is), one port for all of them, and passes each connection through `guard` to `inject`.
 * Throws BindError naming the host, port and reason.
 */
export async function listen(host: string, port: number, guard: ConnectionGuard, inject: (socket: net.Socket) => void): Promise<Listening> {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
  } catch (err) {
    throw new BindError(`cannot listen on ${where}: host not found (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const servers: net.Server[] = [];
  let bound = port;
  try {
    for (const address of addresses) {
      const server = net.createServer((socket) => guard.accept(socket, inject));
      servers.push(server);
      bound = await listenOn(server, address, bound);
    }
  } catch (err) {
    for (const server of servers) server.close();
    throw new BindError(`cannot listen on ${where}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return { port: bound, close: () => servers.forEach((server) => server.close()) };
}
