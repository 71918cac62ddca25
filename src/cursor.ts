/**
 * Cursors: a result read in batches, holding one connection for the
 * iteration. With the adapter's protocol cursor (a portal) where nothing else
 * can reach the connection meanwhile, else with a SQL cursor (`DECLARE` and
 * `FETCH`), which is also what a session uses, so its own statements can run
 * between batches.
 *
 * @module
 */

import { asCancelled } from "./abort.ts";
import type { DriverCursor, FieldInfo, QueryMode, QueryResult, Row } from "./contracts.ts";
import type { QueryError } from "./errors.ts";
import { noteFailure, type Pin, type Pinned } from "./pinned.ts";

/** Options of `db.cursor()`, `session.cursor()` and `connection.cursor()`. */
export interface CursorOptions extends QueryMode {
  /** Rows per batch, at least 1 (default 1000). Each batch is one round trip. */
  batchSize?: number;
  /**
   * Stops the iteration: a batch being fetched is cancelled on the server, the loop throws, the cursor is closed
   * and its connection given back.
   */
  signal?: AbortSignal;
}

/** Rows per batch when `batchSize` is not given. */
export const DEFAULT_BATCH_SIZE = 1000;

/**
 * A statement's rows in batches: `for await (const rows of cursor)`. The
 * connection is taken when the loop starts and given back when it ends,
 * whether it ran out of rows, `break`s, throws or the `signal` aborts. A
 * cursor is iterated once.
 *
 * @example
 * ```ts ignore
 * for await (const rows of db.cursor("SELECT * FROM events WHERE day = $1", [day], { batchSize: 500 })) {
 *   for (const row of rows) handle(row);
 * }
 * ```
 */
export class Cursor<R = Row> implements AsyncIterable<R[]>, AsyncDisposable {
  #pin: Pin;
  #text: string;
  #params: readonly unknown[] | undefined;
  #options: CursorOptions;
  #batchSize: number;
  #fields: readonly FieldInfo[] = [];
  #iterator: AsyncGenerator<R[], void> | undefined;
  #started = false;

  /** @internal Use `db.cursor()`, `session.cursor()` or `connection.cursor()`. */
  constructor(pin: Pin, text: string, params: readonly unknown[] | undefined, options: CursorOptions = {}) {
    const size = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new TypeError(`batchSize must be a whole number of rows, at least 1; got ${options.batchSize}`);
    }
    this.#pin = pin;
    this.#text = text;
    this.#params = params;
    this.#options = options;
    this.#batchSize = size;
  }

  /** The result's columns, known once the first batch arrived. */
  get fields(): readonly FieldInfo[] {
    return this.#fields;
  }

  /** Iterates the batches; a cursor is iterated once. */
  [Symbol.asyncIterator](): AsyncGenerator<R[], void> {
    if (this.#started) throw new TypeError("a cursor can be iterated only once; open another one");
    this.#started = true;
    return this.#iterator = this.#batches();
  }

  /** Stops the iteration, if any, and gives its connection back. */
  async close(): Promise<void> {
    this.#started = true;
    await this.#iterator?.return();
  }

  /** Same as {@linkcode Cursor.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *#batches(): AsyncGenerator<R[], void> {
    const { signal } = this.#options;
    let pinned: Pinned;
    try {
      signal?.throwIfAborted();
      pinned = await this.#pin(signal);
    } catch (error) {
      throw signal ? asCancelled(error, signal, "queued") : error;
    }
    let cursor: DriverCursor | undefined;
    let discard = false;
    let inFlight = false;
    // A cancel sent while a batch was on its way may still reach the server after the batch came back, and hit
    // whatever runs next on that backend: a connection the cursor took for itself is then closed, not reused.
    let unsettledCancel = false;
    const onAbort = () => unsettledCancel ||= inFlight;
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      cursor = this.#open(pinned);
      for (;;) {
        // Between batches: the cursor is open on the server, nothing of it is running.
        if (signal?.aborted) throw asCancelled(signal.reason, signal, "running");
        let result: QueryResult | undefined;
        inFlight = true;
        try {
          result = await cursor.next();
        } catch (error) {
          if ((error as QueryError).code === "57014") unsettledCancel = false; // it landed on this batch
          const failure = noteFailure(pinned, error);
          discard = failure.discard;
          throw signal ? asCancelled(failure.error, signal, "running") : failure.error;
        } finally {
          inFlight = false;
        }
        if (result === undefined) return;
        this.#fields = result.fields;
        if (result.rows.length > 0) yield result.rows as R[];
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      try {
        await cursor?.close();
      } catch (error) {
        noteFailure(pinned, error); // the connection is discarded: the loop's own outcome stands
        discard = true;
      }
      await pinned.release(discard || unsettledCancel);
    }
  }

  #open(pinned: Pinned): DriverCursor {
    const conn = pinned.lease.slot.conn;
    const options = { batchSize: this.#batchSize, mode: this.#options, signal: this.#options.signal };
    if (!pinned.session && typeof conn.cursor === "function") return conn.cursor(this.#text, this.#params, options);
    return sqlCursor(pinned, this.#text, this.#params, options.batchSize, this.#options);
  }
}

/**
 * A cursor made of SQL statements on the lease: `DECLARE ... NO SCROLL CURSOR FOR <text>` (in its own transaction
 * unless a session's is open), `FETCH FORWARD n` per batch, then `CLOSE` and `COMMIT`. Works on every adapter; the
 * server accepts `SELECT` and `VALUES` statements in a `DECLARE`.
 */
function sqlCursor(
  pinned: Pinned,
  text: string,
  params: readonly unknown[] | undefined,
  batchSize: number,
  options: CursorOptions,
): DriverCursor {
  const { lease } = pinned;
  const signal = options.signal;
  const name = `dewey_cursor_${crypto.randomUUID().replaceAll("-", "")}`;
  const fetch = `FETCH FORWARD ${batchSize} FROM ${name}`;
  let state: "new" | "open" | "exhausted" | "failed" = "new";
  let began = false;
  return {
    async next() {
      if (state === "exhausted" || state === "failed") return undefined;
      try {
        if (state === "new") {
          if (!pinned.session && !lease.inTransaction) {
            await lease.query("BEGIN", undefined, signal);
            began = true;
            lease.inTransaction = true;
          }
          // A parameter list, even empty, keeps the statement one statement (extended protocol).
          await lease.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${text}`, params ?? [], signal);
          state = "open";
        }
        const result = await lease.query(fetch, undefined, signal, options);
        if (result.rows.length < batchSize) state = "exhausted";
        return result.rows.length > 0 ? result : undefined;
      } catch (error) {
        state = "failed";
        throw error;
      }
    },
    async close() {
      if (state === "new") return;
      if (state === "failed") {
        // The transaction is aborted: ours is rolled back; a session's stays for its owner to end.
        if (began) await endTransaction(pinned, "ROLLBACK");
        return;
      }
      await lease.query(`CLOSE ${name}`);
      if (began) await endTransaction(pinned, "COMMIT");
    },
  };
}

async function endTransaction(pinned: Pinned, statement: "COMMIT" | "ROLLBACK"): Promise<void> {
  await pinned.lease.query(statement);
  pinned.lease.inTransaction = false;
}
