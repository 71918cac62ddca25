/**
 * Cursors and COPY on a postgres.js connection: a portal read in batches
 * (postgres.js's `.cursor()`), and COPY through its Node streams, with the
 * statement's end (row count, error) taken from the query itself, which
 * postgres.js otherwise drops once the stream is handed out.
 *
 * @module
 */

import type postgres from "postgres";
import type { DriverCopyOut, DriverCursor, DriverCursorOptions } from "../src/contracts.ts";
import { plainBytes } from "./kit.ts";
import { modeResult, type PgOptions, type PgResult, runAs, sendAtOnce, wholeRows } from "./postgres_values.ts";

type Sql = ReturnType<typeof postgres>;

/** A postgres.js query, as far as the adapter drives it. */
export type PgQuery = Promise<PgResult> & {
  cancel(): void;
  values(): unknown;
  raw(): unknown;
  cursor(rows: number): AsyncIterable<PgResult>;
  writable(): Promise<unknown>;
  readable(): Promise<unknown>;
  /** Set by postgres.js once described. */
  statement?: { columns?: { name: string; type: number }[] };
  /** postgres.js settles the query through these; COPY takes them over to learn how the statement ended. */
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  active: boolean;
};

/**
 * What a cursor or a COPY needs of its connection (adapters/cancel_gate.ts keeps a cancel on its own statement):
 * to start only after a statement whose cancel is still pending, to cancel the running statement and learn
 * whether the server took the request, to close the connection when that cannot be known, and the adapter's
 * error mapping (with the statement taken as sent).
 */
export interface StreamControl {
  /** Resolves once no statement's cancel is pending on the connection. */
  ready(): Promise<void>;
  /** Cancels the running statement `q`: true once the server took the request, false when that is unknown. */
  cancel(q: PgQuery): Promise<boolean>;
  /** Closes the connection (a cancel whose outcome is unknown could hit the next statement). */
  discard(): Promise<void>;
  /** Maps a driver error to the library's. */
  fail(error: unknown): unknown;
}

/**
 * Sends a cancel for `q` when `signal` aborts while `active()` says the statement runs; `settled()` awaits the
 * cancel's outcome, if one was sent, and closes the connection when it is unknown.
 */
function canceller(q: PgQuery, signal: AbortSignal | undefined, control: StreamControl, active: () => boolean) {
  let outcome: Promise<boolean> | undefined;
  const onAbort = () => {
    if (active() && outcome === undefined) outcome = control.cancel(q).catch(() => false);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return {
    async settled(): Promise<void> {
      const sent = outcome;
      outcome = undefined;
      if (sent !== undefined && !(await sent)) await control.discard();
    },
    stop: () => signal?.removeEventListener("abort", onAbort),
  };
}

const EXTENDED = { prepare: false, simple: false };
const SIMPLE = { prepare: false, simple: true };

/**
 * A cursor over `text` with postgres.js's protocol-level portal: each batch is one Execute with a row limit; the
 * portal lives in the connection's implicit transaction, so no other statement may run until it is closed.
 * `atOnce` when `params` are what `unnamedParams` gives: the statement goes in one write (`sendAtOnce`).
 */
export function openCursor(
  sql: Sql,
  text: string,
  params: readonly unknown[],
  atOnce: boolean,
  options: DriverCursorOptions,
  parsers: PgOptions["parsers"],
  control: StreamControl,
): DriverCursor {
  const mode = options.mode ?? {};
  const as = runAs(mode);
  const q = sql.unsafe(text, params as never[], EXTENDED) as unknown as PgQuery;
  if (atOnce) sendAtOnce(q);
  if (as !== undefined) q[as]();
  const batches = q.cursor(options.batchSize)[Symbol.asyncIterator]();
  const { signal } = options;
  // A cancel only while a batch is being fetched: between batches the backend is idle, and a cancel request that
  // reached it later would hit whatever runs next on that connection.
  let fetching = false;
  const cancels = canceller(q, signal, control, () => fetching);
  let started = false;
  let closed = false;
  return {
    async next() {
      if (!started) {
        started = true;
        await control.ready();
      }
      signal?.throwIfAborted();
      fetching = true;
      try {
        const step = await batches.next();
        if (step.done) return undefined;
        const rows = wholeRows(step.value);
        const columns = rows.columns ?? q.statement?.columns ?? [];
        return modeResult(rows, mode, parsers, columns, rows.length);
      } catch (error) {
        throw control.fail(error);
      } finally {
        fetching = false;
        await cancels.settled();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      cancels.stop();
      // Sends Close and Sync when the portal is suspended; nothing once it completed or failed. postgres.js holds
      // back the next statement until the server has answered.
      await batches.return?.();
    },
  };
}

interface Writable {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(error: Error): void;
  once(event: "drain", fn: () => void): void;
  off(event: "drain", fn: () => void): void;
  on(event: "error", fn: (error: unknown) => void): void;
}

/**
 * How the statement behind a COPY stream ended. postgres.js settles the query once with the stream and drops its
 * later settling (the row count, an error after the stream was handed out). Taken over before the query runs (a
 * short COPY TO can be over within the chunk that started it): the first settling still goes to the query's
 * promise, and every settling, the first when it is not the stream, to the promise returned here.
 */
function ending(q: PgQuery): Promise<PgResult> {
  const first = { resolve: q.resolve, reject: q.reject };
  let streamed = false;
  const ended = new Promise<PgResult>((resolve, reject) => {
    q.resolve = (value) => {
      q.active = false;
      if (streamed) return resolve(value as PgResult);
      streamed = true;
      // An error that ends the COPY within the chunk that started it is emitted on the stream before anyone could
      // listen (Node emits it on the next tick): without a listener it would be an uncaught exception. The error
      // itself reaches the caller through the stream's reader and through the promise returned here.
      if (isStream(value)) (value as { on(event: "error", fn: () => void): void }).on("error", () => {});
      first.resolve(value);
      if (!isStream(value)) resolve(value as PgResult);
    };
    q.reject = (error) => {
      q.active = false;
      if (!streamed) first.reject(error);
      streamed = true;
      reject(error);
    };
  });
  ended.catch(() => {});
  return ended;
}

function isStream(value: unknown): boolean {
  return typeof (value as { pipe?: unknown })?.pipe === "function";
}

function notCopy(direction: string): TypeError {
  return new TypeError(`expected a COPY ... ${direction} statement`);
}

/**
 * `COPY ... FROM STDIN`: each chunk of `source` is written when the socket has taken the previous ones (the
 * stream's `drain`). A failing source or an abort destroys the stream, which makes postgres.js send CopyFail; the
 * server's answer is awaited before the source's error is thrown, so the connection is idle again.
 */
export async function copyIn(
  sql: Sql,
  text: string,
  source: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
  control: StreamControl,
): Promise<{ rowCount: number }> {
  const fail = control.fail;
  await control.ready();
  signal?.throwIfAborted();
  const q = sql.unsafe(text, [], SIMPLE) as unknown as PgQuery;
  const ended = ending(q);
  let stream: Writable;
  try {
    stream = await q.writable() as Writable;
  } catch (error) {
    throw fail(error);
  }
  if (typeof stream?.write !== "function") throw notCopy("FROM STDIN");
  // The server may fail the COPY (a bad row) while the source still has data: stop feeding it then.
  let stop: ((error: unknown) => void) | undefined;
  const stopped = new Promise<never>((_, reject) => stop = reject);
  stopped.catch(() => {});
  ended.then(() => stop!(new Error("the server ended the COPY early")), (error) => stop!(error));
  const onAbort = () => stop!(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await Promise.race([chunks.next(), stopped]);
      if (step.done) break;
      if (!stream.write(step.value)) {
        let onDrain: () => void = () => {};
        await Promise.race([new Promise<void>((resolve) => stream.once("drain", onDrain = resolve)), stopped]).finally(
          () => stream.off("drain", onDrain),
        );
      }
    }
    stream.end();
  } catch (error) {
    // The source failed, the signal aborted or the server refused a row. The first two need a CopyFail; after the
    // third the server drops it. Either way its answer is awaited, so the connection is idle before we return.
    stream.destroy(error instanceof Error ? error : new Error(String(error)));
    void chunks.return?.().catch(() => {});
    const server = await ended.then(() => undefined, (e) => e);
    throw server !== undefined && !isCopyFail(server) ? fail(server) : error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  try {
    const result = await ended;
    return { rowCount: result.count ?? 0 };
  } catch (error) {
    throw fail(error);
  }
}

/** The server's answer to our own CopyFail (57014, "COPY from stdin failed"). */
function isCopyFail(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "57014";
}

interface Readable {
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  on(event: "error", fn: (error: unknown) => void): void;
  /** postgres.js's read hook: `socket.resume()`. */
  _read?(size: number): void;
}

/**
 * `COPY ... TO STDOUT`: postgres.js pauses the socket when the stream's buffer is full and resumes it when it is
 * read, so output comes off the wire as fast as it is read. An abort while it runs sends a cancel request; reading
 * on until the stream ends or fails leaves the connection idle (closed when the cancel's outcome is unknown).
 */
export function copyOut(
  sql: Sql,
  text: string,
  signal: AbortSignal | undefined,
  control: StreamControl,
): DriverCopyOut {
  const fail = control.fail;
  const q = sql.unsafe(text, [], SIMPLE) as unknown as PgQuery;
  const ended = ending(q);
  let chunks: AsyncIterator<Uint8Array> | undefined;
  let running = false;
  const cancels = canceller(q, signal, control, () => running);
  const done = async () => {
    running = false;
    cancels.stop();
    await cancels.settled();
  };
  const open = async (): Promise<AsyncIterator<Uint8Array>> => {
    await control.ready();
    signal?.throwIfAborted();
    running = true;
    const stream = await q.readable() as Readable;
    if (typeof stream?.[Symbol.asyncIterator] !== "function") throw notCopy("TO STDOUT");
    // postgres.js pauses the socket when the stream's buffer is full and resumes it when the stream is read. When
    // the end of the COPY (its last data, or its error) came in the chunk that filled the buffer, nothing reads the
    // stream again and the socket would stay paused, the next statement's answer unread: resume it once it ended.
    ended.finally(() => stream._read?.(0)).catch(() => {});
    return stream[Symbol.asyncIterator]();
  };
  return {
    async read() {
      try {
        chunks ??= await open();
        const step = await chunks.next();
        if (!step.done) return plainBytes(step.value) as Uint8Array;
        // The data ended (CopyDone); the statement's own end follows (an error is still possible).
        await ended;
        await done();
        return undefined;
      } catch (error) {
        await done();
        throw fail(error);
      }
    },
  };
}
