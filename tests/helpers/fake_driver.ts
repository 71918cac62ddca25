/**
 * A fake driver for fast, deterministic unit tests of pool logic. Never a
 * stand-in for the real server in integration tests.
 *
 * @module
 */

import type { ConnectRequest, Driver, DriverConnection, QueryMode, QueryResult } from "../../src/contracts.ts";
import { DatabaseConnectionError, QueryError } from "../../src/errors.ts";

/** A statement the fake received. */
export interface FakeCall {
  conn: number;
  text: string;
  params?: readonly unknown[];
  mode?: QueryMode;
  /** Statements in flight on this connection when this one was sent, itself included. */
  inflight: number;
}

/** Knobs and records of the fake. */
export class FakeDriver implements Driver {
  readonly name = "fake";
  readonly remote = true;
  pipelining = true;
  /** Connections opened so far (ids start at 1). */
  opened = 0;
  /** Connections currently open. */
  readonly open = new Set<FakeConnection>();
  /** Every statement, in order. */
  readonly calls: FakeCall[] = [];
  /** Most connections ever open at once. */
  peak = 0;
  /** When set, `connect` rejects with it. */
  connectError: Error | undefined;
  /** Delay of each connect, ms. */
  connectDelay = 0;
  /** Delay of each statement, ms (0 = next microtask). */
  queryDelay = 0;
  /** Statements that take this long (ms) when the text matches, instead of `queryDelay`. */
  delays: { match: RegExp; ms: number }[] = [];
  /** Statements that fail with a QueryError of this SQLSTATE when the text matches. */
  failures: { match: RegExp; code: string; connection?: boolean }[] = [];

  async connect(request: ConnectRequest): Promise<DriverConnection> {
    if (this.connectDelay) await sleep(this.connectDelay, request.signal);
    request.signal.throwIfAborted();
    if (this.connectError) throw this.connectError;
    const conn = new FakeConnection(this, ++this.opened, request.onClose);
    this.open.add(conn);
    this.peak = Math.max(this.peak, this.open.size);
    return conn;
  }

  /** Kills every open connection, as a server restart would. */
  killAll(): void {
    for (const c of [...this.open]) c.kill();
  }
}

/** One fake connection. */
export class FakeConnection implements DriverConnection {
  closed = false;
  inflight = 0;
  readonly info: DriverConnection["info"];

  constructor(readonly driver: FakeDriver, readonly id: number, readonly onClose: (e?: Error) => void) {
    this.info = { pid: id, serverVersion: "16.0 (fake)", tls: null, host: "fake", port: 5432 };
  }

  async query(text: string, params?: readonly unknown[], signal?: AbortSignal, mode?: QueryMode): Promise<QueryResult> {
    if (this.closed) {
      throw new DatabaseConnectionError("closed", { code: "CONNECTION_CLOSED", retryable: true, reachedServer: false });
    }
    // The driver contract: a statement whose signal aborted before it was sent is not sent.
    if (signal?.aborted) throw signal.reason;
    this.inflight++;
    this.driver.calls.push({ conn: this.id, text, params, mode, inflight: this.inflight });
    try {
      // Cancelled while "running": the server's answer, 57014.
      const cancelled = () => new QueryError({ code: "57014", message: "canceling statement due to user request" });
      const delay = this.driver.delays.find((d) => d.match.test(text))?.ms ?? this.driver.queryDelay;
      if (delay) await sleep(delay, signal).catch(() => Promise.reject(cancelled()));
      else await Promise.resolve();
      if (signal?.aborted) throw cancelled();
      if (this.closed) throw new DatabaseConnectionError("connection lost", { code: "57P01", retryable: true });
      for (const f of this.driver.failures) {
        if (f.match.test(text)) {
          if (f.connection) {
            this.kill();
            throw new DatabaseConnectionError("connection lost", { code: f.code, retryable: true });
          }
          throw new QueryError({ code: f.code, message: `fake failure ${f.code}` });
        }
      }
      const command = text.trim().split(/\s+/)[0].toUpperCase();
      return { rows: [{ conn: this.id, params: params ?? [] }], rowCount: 1, command, fields: [] };
    } finally {
      this.inflight--;
    }
  }

  kill(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.open.delete(this);
    this.onClose(new Error("killed"));
  }

  close(): Promise<void> {
    this.closed = true;
    this.driver.open.delete(this);
    return Promise.resolve();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
