/**
 * The connection floods of `npm run soak:floods` (issue 15, item 12): thousands of idle
 * connections, and HTTP/2 rapid reset with a reconnect after every GOAWAY or refusal. Each comes
 * from `PEERS` loopback addresses of its own (127.0.0.2 and up: Linux routes all of 127/8 to
 * lo), never the probe's 127.0.0.1, so the per-address limits and bans fall on the attacker
 * alone. A refused or reset connection is the outcome the server is meant to produce: every
 * socket and session error is counted by its code and the attacker carries on. Bounded in time,
 * in connections held and in its own memory.
 */
import * as http2 from "node:http2";
import * as net from "node:net";

type Counts = Record<string, number>;

/** Source addresses: 127.0.0.2 ... 127.0.0.(1 + PEERS). */
const PEERS = 30;
/** The attacker's `i`-th source address (of PEERS, round and round). */
export const sourceAddress = (i: number): string => `127.0.0.${2 + (i % PEERS)}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const count = (counts: Counts, what: string): void => void (counts[what] = (counts[what] ?? 0) + 1);
const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? "error";

function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** An HTTP/2 session from `localAddress`; errors are counted, never thrown. */
export function connectFrom(address: string, localAddress: string, counts: Counts): http2.ClientHttp2Session {
  const { host, port } = splitAddress(address);
  const session = http2.connect(`http://${address}`, {
    createConnection: () => net.connect({ host, port, localAddress }).on("error", () => {}),
  });
  session.on("error", (err) => count(counts, `session error ${codeOf(err)}`));
  session.on("goaway", () => count(counts, "goaway received"));
  return session;
}

/** Resolves when `session` is closed (it always is, one way or another). */
const closed = (session: http2.ClientHttp2Session): Promise<void> =>
  session.closed || session.destroyed ? Promise.resolve() : new Promise((r) => session.once("close", () => r()));

/**
 * Idle connections: each source address tries to keep 150 open (more than
 * `--max-connections-per-peer` admits), half of them bare TCP that never sends a byte, half
 * HTTP/2 sessions that finish the handshake and then call nothing; 4,500 in all, more than
 * `--max-connections` admits. One the server closes (refused) is replaced after 100 ms, all
 * along; one it keeps is held to the end.
 */
export async function idleConnectionsFlood(address: string, until: number): Promise<Counts> {
  const counts: Counts = {};
  const { host, port } = splitAddress(address);
  const holdOne = async (slot: number): Promise<void> => {
    const localAddress = sourceAddress(slot);
    while (Date.now() < until) {
      count(counts, "attempts");
      const untilEnd = sleep(Math.max(0, until - Date.now())).then(() => "held to the end");
      let outcome: string;
      if (slot % 2 === 0) {
        const socket = net.connect({ host, port, localAddress });
        socket.on("error", (err) => count(counts, `socket error ${codeOf(err)}`));
        outcome = await Promise.race([new Promise<string>((r) => socket.once("close", () => r("tcp closed by the server"))), untilEnd]);
        socket.destroy();
      } else {
        const session = connectFrom(address, localAddress, counts);
        session.once("remoteSettings", () => count(counts, "http2 handshakes done"));
        outcome = await Promise.race([closed(session).then(() => "http2 closed by the server"), untilEnd]);
        session.destroy();
      }
      count(counts, outcome);
      if (Date.now() < until) await sleep(100);
    }
  };
  await Promise.all(Array.from({ length: PEERS * 150 }, (_, slot) => holdOne(slot)));
  return counts;
}

/**
 * HTTP/2 rapid reset without a token: 3 sessions per source address, each opening calls (HEADERS,
 * no message) and cancelling them at once (RST_STREAM CANCEL), 20 per event-loop turn, until
 * the server ends the session (GOAWAY, a reset, the --max-resets ban); then it reconnects after
 * 10 ms, and keeps trying while refused.
 */
export async function rapidResetFlood(address: string, until: number): Promise<Counts> {
  const counts: Counts = { streamsOpenedAndCancelled: 0, sessions: 0, sessionsTheServerTook: 0 };
  const headers = {
    ":method": "POST", ":path": "/keypool.v1.KeyService/GetPoolStats", "content-type": "application/grpc", te: "trailers",
  };
  const resetUntilClosed = async (session: http2.ClientHttp2Session): Promise<void> => {
    const ended = closed(session);
    let done = false;
    void ended.then(() => (done = true));
    while (!done && Date.now() < until) {
      for (let i = 0; i < 20 && !session.closed && !session.destroyed; i++) {
        try {
          const stream = session.request(headers);
          stream.on("error", () => {});
          stream.close(http2.constants.NGHTTP2_CANCEL);
          counts.streamsOpenedAndCancelled!++;
        } catch (err) {
          // A session that got GOAWAY or was destroyed refuses new streams: it is finished.
          count(counts, `request refused ${codeOf(err)}`);
          session.destroy();
          break;
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    session.destroy();
    await ended;
  };
  const worker = async (w: number): Promise<void> => {
    while (Date.now() < until) {
      counts.sessions!++;
      const session = connectFrom(address, sourceAddress(w), counts);
      session.once("remoteSettings", () => counts.sessionsTheServerTook!++);
      // Streams of a refused session are counted too: they were queued before it closed.
      await resetUntilClosed(session);
      await sleep(10);
    }
  };
  await Promise.all(Array.from({ length: PEERS * 3 }, (_, w) => worker(w)));
  return counts;
}
