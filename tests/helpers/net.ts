/**
 * Network helpers for tests: a free TCP port and two misbehaving servers for fault tests.
 *
 * Every server here is sanitizer-clean once {@linkcode FakeServer.close} has resolved: the listener,
 * every accepted connection and every pending read are closed and awaited.
 *
 * @example
 * ```ts ignore
 * await using srv = silentServer();
 * const err = await connect({ host: srv.host, port: srv.port, connectTimeout: 0.2 }).catch((e) => e);
 * assert.equal(srv.accepted, 1);
 * ```
 * @module
 */

/**
 * A TCP port that was free a moment ago: binds `hostname:0`, reads the port, closes the listener.
 * Another process may grab it before you bind it; retry on EADDRINUSE where that matters.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/** A fake TCP server made by {@linkcode silentServer} or {@linkcode closingServer}. */
export interface FakeServer extends AsyncDisposable {
  /** Listening address (`127.0.0.1` unless another hostname was asked for). */
  readonly host: string;
  /** Listening port. */
  readonly port: number;
  /** Number of connections accepted so far. */
  readonly accepted: number;
  /** Number of connections currently open (always 0 for a closing server). */
  readonly open: number;
  /** Bytes read from clients so far (always 0 for a closing server, which reads nothing). */
  readonly bytesReceived: number;
  /**
   * Resolves once at least `n` connections have been accepted; rejects after `timeoutMs` (default 5000).
   */
  waitForAccepted(n: number, timeoutMs?: number): Promise<void>;
  /** Closes the listener and every accepted connection, and waits for all of it. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of the fake servers. */
export interface FakeServerOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port to listen on (default: any free port). */
  port?: number;
}

type Mode = "silent" | "closing";

class Fake implements FakeServer {
  readonly host: string;
  readonly port: number;
  accepted = 0;
  bytesReceived = 0;
  readonly #mode: Mode;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #readers = new Set<Promise<void>>();
  readonly #waiters = new Set<() => void>();
  readonly #loop: Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(mode: Mode, options: FakeServerOptions) {
    this.#mode = mode;
    this.#listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 });
    const addr = this.#listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.#loop = this.#acceptLoop();
  }

  get open(): number {
    return this.#conns.size;
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.accepted++;
        if (this.#mode === "closing" || this.#closed) {
          conn.close();
        } else {
          this.#conns.add(conn);
          const reader = this.#drain(conn);
          this.#readers.add(reader);
          reader.then(() => this.#readers.delete(reader));
        }
        for (const w of this.#waiters) w();
      }
    } catch {
      // listener closed under us
    }
  }

  /** Reads and discards everything until the peer or close() ends the connection. */
  async #drain(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        this.bytesReceived += n;
      }
    } catch {
      // closed by close()
    } finally {
      if (this.#conns.delete(conn)) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    }
  }

  waitForAccepted(n: number, timeoutMs = 5000): Promise<void> {
    if (this.accepted >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.accepted < n) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`only ${this.accepted} of ${n} connections accepted after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      await this.#loop;
      for (const conn of this.#conns) {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await Promise.all([...this.#readers]);
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * A TCP server that accepts connections, reads (and discards) whatever arrives and never answers:
 * a server that hangs, for connect/statement timeout tests.
 */
export function silentServer(options: FakeServerOptions = {}): FakeServer {
  return new Fake("silent", options);
}

/**
 * A TCP server that accepts each connection and closes it at once without a byte: for "server
 * closed the connection unexpectedly" and reconnect-storm tests.
 */
export function closingServer(options: FakeServerOptions = {}): FakeServer {
  return new Fake("closing", options);
}
