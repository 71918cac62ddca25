/**
 * Sessions: one connection, one transaction. COMMIT on success, ROLLBACK on
 * error or on disposal without commit, SAVEPOINTs when nested.
 *
 * @module
 */

import type { QueryOptions } from "./abort.ts";
import { isConnectionFailure } from "./classify.ts";
import type { QueryResult, Row, SessionTrace } from "./contracts.ts";
import { copyFrom, type CopyOptions, type CopyResult, type CopySource, copyTo } from "./copy.ts";
import { Cursor, type CursorOptions } from "./cursor.ts";
import { DatabaseConnectionError, QueryError } from "./errors.ts";
import { borrowed, type Pin } from "./pinned.ts";
import { type Lease, RESOLVED } from "./slot.ts";
import { rowsOf, type SqlTag, sqlTag } from "./sql.ts";
import { traced } from "./telemetry.ts";

/** Transaction isolation levels, as SQL spells them. */
export type IsolationLevel = "read uncommitted" | "read committed" | "repeatable read" | "serializable";

/** How to retry a whole transaction callback. */
export interface RetryOptions {
  /** Total attempts, including the first (default 3). */
  attempts?: number;
  /** First backoff step in ms (default 20). */
  baseDelay?: number;
  /** Largest backoff step in ms (default 1000). */
  maxDelay?: number;
}

/** Options for `getSession`. */
export interface SessionOptions {
  /** Isolation level; the server default (usually read committed) when unset. */
  isolation?: IsolationLevel;
  /** `READ ONLY`: writes fail with SQLSTATE 25006. Routed to a replica when one is configured and healthy. */
  readOnly?: boolean;
  /** `DEFERRABLE` (with serializable, read-only). */
  deferrable?: boolean;
  /**
   * Callback form only: re-run the whole callback on serialization failures
   * (40001), deadlocks (40P01) and connection failures before COMMIT was sent.
   * The callback must be safe to run more than once. A number is `attempts`.
   */
  retry?: number | RetryOptions;
  /**
   * Settle a COMMIT whose connection died before the answer came: the session
   * reads its transaction id before COMMIT (one more round trip) and, if the
   * link fails, asks the server with `txid_status()` whether it committed. The
   * caller then sees success or a retryable "rolled back" error instead of an
   * in-doubt one. Default: on when `retry` is set.
   */
  verifyCommit?: boolean;
  /** Aborts waiting for a connection. */
  signal?: AbortSignal;
}

/** Asks the server how transaction `txid` ended, after its connection died during COMMIT. */
export type CommitSettler = (txid: string) => Promise<"committed" | "aborted" | "unknown">;

const ISOLATION: Record<IsolationLevel, string> = {
  "read uncommitted": " ISOLATION LEVEL READ UNCOMMITTED",
  "read committed": " ISOLATION LEVEL READ COMMITTED",
  "repeatable read": " ISOLATION LEVEL REPEATABLE READ",
  "serializable": " ISOLATION LEVEL SERIALIZABLE",
};

/**
 * The `BEGIN` statement for `options`; throws a `TypeError` for an unknown isolation level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { beginStatement } from "./session.ts";
 * assert(beginStatement({ isolation: "serializable", readOnly: true }) ===
 *   "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY");
 * ```
 */
export function beginStatement(options: SessionOptions = {}): string {
  let text = "BEGIN";
  if (options.isolation !== undefined) {
    const level = ISOLATION[options.isolation];
    if (!level) throw new TypeError(`unknown isolation level ${JSON.stringify(options.isolation)}`);
    text += level;
  }
  if (options.readOnly) text += " READ ONLY";
  if (options.deferrable) text += " DEFERRABLE";
  return text;
}

/** Where a session is in its life. */
export type SessionState = "active" | "committed" | "rolled back";

/**
 * A transaction on one checked-out connection. Get one from
 * `db.getSession()`; nested sessions (`session.getSession()`) are savepoints.
 *
 * @example Callback form: commit on return, rollback on throw
 * ```ts ignore
 * await db.getSession(async (session) => {
 *   await session.query("INSERT INTO t (x) VALUES ($1)", [1]);
 *   await session.getSession(async (inner) => {   // SAVEPOINT
 *     await inner.query("INSERT INTO t (x) VALUES ($1)", [2]);
 *   });
 * });
 * ```
 *
 * @example `await using`: rollback unless committed
 * ```ts ignore
 * {
 *   await using session = await db.getSession({ isolation: "serializable" });
 *   await session.sql`UPDATE accounts SET balance = balance - ${10} WHERE id = ${1}`;
 *   await session.commit();
 * }
 * ```
 */
export class Session {
  #lease: Lease;
  #parent: Session | undefined;
  #savepoint: string | undefined;
  #state: SessionState = "active";
  #children = 0;
  #settle: CommitSettler | undefined;
  #trace: SessionTrace | undefined;

  /** @internal Use `db.getSession()`. */
  constructor(
    readonly owner: object,
    lease: Lease,
    parent?: Session,
    savepoint?: string,
    settle?: CommitSettler,
    trace?: SessionTrace,
  ) {
    this.#lease = lease;
    this.#parent = parent;
    this.#savepoint = savepoint;
    this.#settle = settle;
    this.#trace = trace;
    this.sql = sqlTag((text, values) => this.query(text, values).then(rowsOf));
  }

  /**
   * Tagged template; every interpolated value is sent as a parameter.
   *
   * @example
   * ```ts ignore
   * const rows = await session.sql`SELECT * FROM users WHERE id = ${id}`;
   * ```
   */
  readonly sql: SqlTag;

  /** Whether the session can still run statements. */
  get active(): boolean {
    return this.#state === "active" && (this.#parent?.active ?? true);
  }

  /** `committed`, `rolled back` or `active`. */
  get state(): SessionState {
    return this.#state;
  }

  /** Nesting depth: 0 for the transaction, 1+ for savepoints. */
  get depth(): number {
    return this.#parent ? this.#parent.depth + 1 : 0;
  }

  /**
   * Runs a statement in the transaction.
   *
   * @example
   * ```ts ignore
   * const { rows } = await session.query("SELECT $1::int AS n", [1]);
   * ```
   */
  query<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    if (!this.active) return Promise.reject(this.#closedError());
    // No async frame of its own: the statement's promise goes straight back (one promise and hop less).
    if (this.#trace === undefined) return this.#lease.run(text, params, options) as Promise<QueryResult<R>>;
    return traced(this.#trace.statement(text, params), this.#lease.run(text, params, options)) as Promise<
      QueryResult<R>
    >;
  }

  /** Runs one of the session's own statements (SAVEPOINT, COMMIT...), traced with the caller's. */
  #exec(text: string, params?: readonly unknown[]): Promise<QueryResult> {
    return traced(this.#trace?.statement(text, params), this.#lease.query(text, params));
  }

  /** Ends the session's trace, once, when it is over. */
  #finish(error?: unknown): void {
    const trace = this.#trace;
    if (trace === undefined || this.#state === "active") return;
    this.#trace = undefined;
    trace.end(error, this.#state);
  }

  /** `done`, ending the session's trace when it settles. */
  #finishing(done: Promise<void>): Promise<void> {
    if (this.#trace === undefined) return done;
    return done.then(() => this.#finish(), (error) => {
      this.#finish(error);
      throw error;
    });
  }

  /** Alias of {@linkcode Session.query}, as SQLAlchemy's `execute`. */
  execute<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return this.query<R>(text, params, options);
  }

  /**
   * Reads a statement's rows in batches with a SQL cursor in this
   * transaction (`DECLARE ... CURSOR`, `FETCH`): it sees the transaction's
   * writes, and the session's other statements may run between batches.
   * `SELECT` and `VALUES` statements only (the server's rule for `DECLARE`).
   *
   * @example
   * ```ts ignore
   * for await (const rows of session.cursor("SELECT id FROM jobs WHERE state = $1", ["new"], { batchSize: 100 })) {
   *   await session.query("UPDATE jobs SET state = 'queued' WHERE id = ANY($1)", [rows.map((r) => r.id)]);
   * }
   * ```
   */
  cursor<R = Row>(text: string, params?: readonly unknown[], options?: CursorOptions): Cursor<R> {
    return new Cursor<R>(this.#pin, text, params, options);
  }

  /**
   * `COPY ... FROM STDIN` in this transaction; a failure leaves the
   * transaction failed, as any failed statement does.
   *
   * @example
   * ```ts ignore
   * await session.copyFrom("COPY items (id, name) FROM STDIN (FORMAT csv)", "1,pen\n");
   * ```
   */
  copyFrom(text: string, source: CopySource, options?: CopyOptions): Promise<CopyResult> {
    return copyFrom(this.#pin, text, source, options);
  }

  /**
   * `COPY ... TO STDOUT` in this transaction, as a stream; read it to the end
   * (or cancel it, which reads the rest off the wire) before the next statement.
   *
   * @example
   * ```ts ignore
   * const text = await new Response(session.copyTo("COPY items TO STDOUT")).text();
   * ```
   */
  copyTo(text: string, options?: CopyOptions): ReadableStream<Uint8Array> {
    return copyTo(this.#pin, text, options);
  }

  /** The session's connection, lent to a cursor or a COPY. */
  #pin: Pin = (signal) => this.active ? borrowed(this.#lease, true)(signal) : Promise.reject(this.#closedError());

  /** Opens a nested session: a SAVEPOINT that commits by RELEASE and rolls back alone. */
  getSession(): Promise<Session>;
  /** Runs `fn` in a SAVEPOINT: released on return, rolled back alone on throw. */
  getSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  async getSession<T>(fn?: (session: Session) => Promise<T>): Promise<T | Session> {
    this.#assertActive();
    const name = `dewey_sp_${this.depth + 1}_${++this.#children}`;
    const child = new Session(this.owner, this.#lease, this, name, undefined, this.#trace?.savepoint(name));
    try {
      await child.#exec(`SAVEPOINT ${name}`);
    } catch (error) {
      child.#state = "rolled back";
      child.#finish(error);
      throw error;
    }
    if (!fn) return child;
    return await child.#run(fn);
  }

  /**
   * Commits: `COMMIT` for the transaction, `RELEASE SAVEPOINT` for a nested
   * session. Throws if the transaction had failed (the server rolled it back).
   */
  commit(): Promise<void> {
    return this.#finishing(this.#commit());
  }

  async #commit(): Promise<void> {
    this.#assertActive();
    if (this.#savepoint) {
      await this.#exec(`RELEASE SAVEPOINT ${this.#savepoint}`);
      this.#state = "committed";
      return;
    }
    // With a settler, learn the transaction id first (null: nothing was written) so a lost COMMIT can be settled.
    let txid: string | null | undefined;
    if (this.#settle) {
      try {
        const { rows } = await this.#exec("SELECT txid_current_if_assigned()::text AS x");
        txid = (rows[0]?.x as string | null | undefined) ?? null;
      } catch (error) {
        if (!(error instanceof QueryError)) throw await this.#lost(error, "before COMMIT was sent");
        // The transaction had failed: COMMIT below reports it.
      }
    }
    let result: QueryResult;
    try {
      result = await this.#exec("COMMIT");
    } catch (error) {
      this.#state = "rolled back";
      if (!isConnectionFailure(error)) {
        await this.#end(false);
        throw error;
      }
      if ((error as DatabaseConnectionError).reachedServer === false) {
        throw await this.#lost(error, "before COMMIT was sent");
      }
      await this.#lease.release(true);
      const outcome = txid === null ? "committed" : txid ? await this.#settleCommit(txid) : "unknown";
      if (outcome === "committed") {
        // Committed (or there was nothing to commit): the caller's work is done.
        this.#state = "committed";
        return;
      }
      if (outcome === "aborted") throw await this.#lost(error, "during COMMIT, and the server rolled it back");
      // Nobody can tell whether it committed: never report this as safe to retry.
      throw new DatabaseConnectionError(
        "connection lost during COMMIT: the transaction may or may not have committed",
        { code: (error as { code?: string }).code, retryable: false, inDoubt: true, cause: error },
      );
    }
    this.#lease.inTransaction = false;
    if (result.command === "ROLLBACK") {
      this.#state = "rolled back";
      await this.#lease.release();
      throw new QueryError({
        code: "25P02",
        severity: "ERROR",
        message: "COMMIT rolled back the transaction: a statement in it had failed",
      });
    }
    this.#state = "committed";
    await this.#lease.release();
  }

  /** Asks how transaction `txid` ended, traced as a step of this session. */
  async #settleCommit(txid: string): Promise<"committed" | "aborted" | "unknown"> {
    const settled = this.#trace?.settling();
    const outcome = await this.#settle!(txid).catch(() => "unknown" as const);
    settled?.(outcome);
    return outcome;
  }

  /** The error for a transaction the server certainly rolled back because its connection died. */
  async #lost(error: unknown, when: string): Promise<DatabaseConnectionError> {
    this.#state = "rolled back";
    if (!this.#lease.released) await this.#lease.release(true);
    return new DatabaseConnectionError(`connection lost ${when}: the transaction was rolled back`, {
      code: (error as { code?: string }).code,
      retryable: true,
      reachedServer: false,
      cause: error,
    });
  }

  /** Rolls back: `ROLLBACK`, or `ROLLBACK TO SAVEPOINT` for a nested session. */
  rollback(): Promise<void> {
    if (!this.active) return RESOLVED;
    return this.#finishing(this.#end(true));
  }

  /** Rolls back unless committed; never commits implicitly. */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.active) return this.#finishing(this.#end(true));
    if (!this.#parent && !this.#lease.released) return this.#lease.release();
    return RESOLVED;
  }

  /** @internal Runs `fn` and commits, or rolls back and rethrows. */
  async run<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return await this.#run(fn);
  }

  async #run<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await (this.#trace === undefined ? fn(this) : this.#trace.within(() => fn(this)));
    } catch (error) {
      if (this.active) await this.#end(true).catch(() => {});
      this.#finish(error);
      throw error;
    }
    if (this.active) await this.commit();
    return value;
  }

  async #end(rollback: boolean): Promise<void> {
    this.#state = "rolled back";
    if (this.#savepoint) {
      if (!rollback || !(this.#parent?.active ?? false)) return;
      await this.#exec(`ROLLBACK TO SAVEPOINT ${this.#savepoint}`);
      await this.#exec(`RELEASE SAVEPOINT ${this.#savepoint}`);
      return;
    }
    let discard = false;
    if (rollback && !this.#lease.released) {
      try {
        await this.#exec("ROLLBACK");
        this.#lease.inTransaction = false;
      } catch {
        discard = true; // a connection we cannot roll back is not handed to anyone else
      }
    }
    await this.#lease.release(discard);
  }

  #assertActive(): void {
    if (!this.active) throw this.#closedError();
  }

  #closedError(): DatabaseConnectionError {
    return new DatabaseConnectionError(`the session is ${this.#state === "active" ? "closed" : this.#state}`, {
      code: "SESSION_CLOSED",
      reachedServer: false,
    });
  }
}
