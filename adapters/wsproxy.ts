/**
 * A local WebSocket-to-TCP proxy for development: lets the Neon adapter (and
 * the Neon serverless driver generally) reach a local PostgreSQL, so an edge
 * handler runs against the database on your machine.
 *
 * Each WebSocket connection is forwarded to the ONE database address the proxy
 * was started with; binary frames carry the PostgreSQL protocol both ways. The
 * `address=host:port` that Neon's driver puts in the URL is only checked
 * against that address (loopback names are interchangeable), never dialled: a
 * client that names another address is refused with 403 before any dial.
 *
 * ```sh
 * deno task wsproxy                                  # 127.0.0.1:8080 → 127.0.0.1:5432
 * deno task wsproxy --listen 127.0.0.1:9000 --target 127.0.0.1:6432
 * ```
 * and in the edge app's configuration: `driver: neon`, `ws_proxy: 127.0.0.1:8080/v2`.
 *
 * @module
 */

/** Where the proxy listens and the one database it forwards to. */
export interface WsProxyOptions {
  /** The database address every connection is forwarded to. */
  target: { host: string; port: number };
  /** Listening address (default `127.0.0.1`). */
  hostname?: string;
  /** Listening port (default 8080; 0 picks a free one). */
  port?: number;
  /** Called with one line per connection event; default: none. */
  log?: (line: string) => void;
}

/** A running proxy. */
export interface WsProxy extends AsyncDisposable {
  /** Listening address. */
  readonly hostname: string;
  /** Listening port. */
  readonly port: number;
  /** What to put in `ws_proxy`: `hostname:port/v2`. */
  readonly wsProxy: string;
  /** WebSocket connections currently forwarded. */
  readonly connections: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections refused so far (wrong path, address or frame type). */
  readonly refused: number;
  /** Stops listening, closes every forwarded connection and waits for all of it. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/** Whether `named` (the client's `address=`) stands for `target`. */
function sameAddress(named: string, target: { host: string; port: number }): boolean {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(named.trim());
  if (!m) return false;
  const host = m[1].replace(/^\[|\]$/g, "").toLowerCase();
  const port = m[2] === undefined ? 5432 : Number(m[2]);
  const want = target.host.replace(/^\[|\]$/g, "").toLowerCase();
  const hostOk = host === want || (LOOPBACK.has(host) && LOOPBACK.has(want));
  return hostOk && port === target.port;
}

/**
 * Starts the proxy.
 *
 * @example
 * ```ts ignore
 * import { serveWsProxy } from "./wsproxy.ts";
 * await using proxy = serveWsProxy({ target: { host: "127.0.0.1", port: 5432 }, port: 0 });
 * const url = `postgres://postgres@127.0.0.1:5432/test?driver=neon&ws_proxy=${proxy.wsProxy}&sslmode=disable`;
 * ```
 */
export function serveWsProxy(options: WsProxyOptions): WsProxy {
  const { target } = options;
  const log = options.log ?? (() => {});
  const live = new Set<{ ws: WebSocket; tcp?: Deno.TcpConn; done: Promise<void> }>();
  let accepted = 0;
  let refused = 0;
  let closing = false;
  let closed: Promise<void> | undefined;

  const refuse = (status: number, message: string) => {
    refused++;
    log(`refused: ${message}`);
    return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain" } });
  };

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    onListen: () => {},
  }, (req) => {
    const url = new URL(req.url);
    if (closing) return refuse(503, "proxy is shutting down");
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refuse(426, "this is a WebSocket-to-PostgreSQL proxy: connect with a WebSocket");
    }
    const named = url.searchParams.get("address");
    if (named !== null && !sameAddress(named, target)) {
      return refuse(403, `this proxy forwards only to ${target.host}:${target.port}, not to ${named}`);
    }
    const { socket: ws, response } = Deno.upgradeWebSocket(req);
    ws.binaryType = "arraybuffer";
    accepted++;
    const entry: { ws: WebSocket; tcp?: Deno.TcpConn; done: Promise<void> } = { ws, done: Promise.resolve() };
    live.add(entry);
    entry.done = forward(ws, entry, target, log).finally(() => live.delete(entry));
    return response;
  });

  const proxy: WsProxy = {
    hostname: server.addr.hostname,
    port: server.addr.port,
    wsProxy: `${server.addr.hostname}:${server.addr.port}/v2`,
    get connections() {
      return live.size;
    },
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    close: () =>
      closed ??= (async () => {
        closing = true;
        for (const c of live) {
          try {
            c.tcp?.close();
          } catch { /* already closed */ }
          if (c.ws.readyState <= WebSocket.OPEN) c.ws.close(1001, "proxy shutting down");
        }
        await Promise.all([...live].map((c) => c.done));
        await server.shutdown();
      })(),
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  return proxy;
}

/** Pipes one WebSocket to one TCP connection until either side ends. */
async function forward(
  ws: WebSocket,
  entry: { tcp?: Deno.TcpConn },
  target: { host: string; port: number },
  log: (line: string) => void,
): Promise<void> {
  const opened = new Promise<boolean>((resolve) => {
    ws.addEventListener("open", () => resolve(true), { once: true });
    ws.addEventListener("close", () => resolve(false), { once: true });
  });
  // Frames that arrive before the TCP dial completes are queued in order.
  const pending: Uint8Array[] = [];
  let tcp: Deno.TcpConn | undefined;
  let writing = Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve(), { once: true }));
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") {
      ws.close(1003, "binary frames only");
      return;
    }
    const bytes = new Uint8Array(event.data as ArrayBuffer);
    if (!tcp) pending.push(bytes);
    else writing = writing.then(() => writeAll(tcp!, bytes)).catch(() => ws.close(1011, "database write failed"));
  });
  if (!await opened) return;
  try {
    tcp = await Deno.connect({ hostname: target.host, port: target.port });
    entry.tcp = tcp;
    tcp.setNoDelay(true);
  } catch (error) {
    log(`dial ${target.host}:${target.port} failed: ${(error as Error).message}`);
    if (ws.readyState === WebSocket.OPEN) ws.close(1011, "cannot reach the database");
    await closed;
    return;
  }
  log(`forwarding to ${target.host}:${target.port}`);
  for (const bytes of pending.splice(0)) writing = writing.then(() => writeAll(tcp!, bytes));
  const conn = tcp;
  const reading = (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null || ws.readyState !== WebSocket.OPEN) break;
        ws.send(buf.slice(0, n));
      }
    } catch {
      // closed by the other direction or by close()
    }
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, "database closed the connection");
  })();
  await closed;
  await writing.catch(() => {});
  try {
    conn.close();
  } catch { /* already closed */ }
  await reading;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function parseAddress(text: string, what: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`${what}: expected host:port, found ${JSON.stringify(text)}`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].slice(name.length + 1) : args[i + 1];
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      "deno task wsproxy [--listen 127.0.0.1:8080] [--target 127.0.0.1:5432]\n" +
        "Forwards WebSocket connections (Neon serverless driver) to the one PostgreSQL at --target.\n" +
        "Defaults: --listen $WSPROXY_LISTEN or 127.0.0.1:8080, --target $WSPROXY_TARGET or $PGHOST:$PGPORT or 127.0.0.1:5432.",
    );
    Deno.exit(0);
  }
  const env = (name: string) => Deno.env.get(name);
  const listen = parseAddress(argValue(args, "--listen") ?? env("WSPROXY_LISTEN") ?? "127.0.0.1:8080", "--listen");
  const target = parseAddress(
    argValue(args, "--target") ?? env("WSPROXY_TARGET") ?? `${env("PGHOST") ?? "127.0.0.1"}:${env("PGPORT") ?? 5432}`,
    "--target",
  );
  const proxy = serveWsProxy({
    target,
    hostname: listen.host,
    port: listen.port,
    log: (line) => console.log(`wsproxy: ${line}`),
  });
  console.log(`wsproxy: ws://${proxy.hostname}:${proxy.port}/v2 → ${target.host}:${target.port}`);
  console.log(`wsproxy: set ws_proxy: ${proxy.wsProxy} and sslmode: disable (or ws_proxy: ws://${proxy.wsProxy})`);
  Deno.addSignalListener("SIGINT", () => proxy.close().then(() => Deno.exit(0)));
}
