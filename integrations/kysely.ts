/**
 * `@dewey/db/kysely`: a Kysely dialect on @dewey/db, so a Kysely application
 * gets the pool, reconnection, retries, TLS, health and events of @dewey/db
 * with no glue.
 *
 * - A single query (`.execute()` outside a connection scope or transaction)
 *   goes through `db.query`: pipelined on the least loaded connection.
 * - `kysely.connection().execute(fn)` keeps every statement of `fn` on one
 *   checked-out connection (`db.engine.connect()`).
 * - `kysely.transaction()` and `kysely.startTransaction()` are @dewey/db
 *   sessions (isolation level and access mode from Kysely's settings);
 *   savepoints keep Kysely's names, one statement each.
 * - `.stream(chunkSize)` reads with a cursor, `chunkSize` rows per round trip.
 * - An abort signal with `inflightQueryAbortStrategy: "cancel query"` cancels
 *   the statement on the server; `"kill session"` ends its backend.
 * - {@linkcode inSession} runs a Kysely callback in `db.getSession(fn, { retry })`,
 *   so a transaction that failed in a way that is safe to retry runs again.
 *
 * Works with `@dewey/db` and `@dewey/db/edge` alike. Values are those of
 * @dewey/db (see `docs/kysely.md` for where they differ from `pg`'s).
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * import { DeweyDialect } from "jsr:@dewey/db/kysely";
 * import { Kysely } from "kysely";
 *
 * interface DB { person: { id: number; name: string } }
 * const db = await getConnection("postgres://app@localhost:5432/app");
 * const kysely = new Kysely<DB>({ dialect: new DeweyDialect({ db }) });
 * const people = await kysely.selectFrom("person").selectAll().where("id", "=", 1).execute();
 * await kysely.destroy(); // closes db too
 * ```
 *
 * @module
 */

import {
  AbortedTransactionError,
  CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult as KyselyResult,
  RawNode,
  type TransactionSettings,
} from "kysely";
import type { DatabaseConnectionBase } from "../src/database.ts";
import type { PooledConnection } from "../src/pooled_connection.ts";
import type { Session, SessionOptions } from "../src/session.ts";
import type { QueryResult, Row } from "../src/contracts.ts";

export type { DatabaseConnectionBase, SessionOptions };

/** Kysely's `Dialect` contract, which {@linkcode DeweyDialect} implements. */
export type KyselyDialect = Dialect;

/** A @dewey/db database: `DatabaseConnection` from `@dewey/db` or from `@dewey/db/edge`. */
export type DeweyDatabase = DatabaseConnectionBase;

/** Options of {@linkcode DeweyDialect}. */
export interface DeweyDialectConfig {
  /**
   * The database, or a function that returns it, called once on first use (as `PostgresDialect`'s `pool`).
   * `kysely.destroy()` closes it once it was used, as `PostgresDialect` ends its pool.
   */
  db: DeweyDatabase | (() => Promise<DeweyDatabase>);
  /**
   * Session options for every `kysely.transaction()` and `kysely.startTransaction()`: `verifyCommit` settles a
   * COMMIT whose connection died before its answer (committed, or a retryable rolled-back error, never an unknown
   * outcome reported as either). Retrying means running the callback again, which only {@linkcode inSession} can.
   */
  transaction?: Pick<SessionOptions, "verifyCommit">;
}

/**
 * Kysely's dialect for @dewey/db: PostgreSQL's query compiler, adapter and
 * introspector, with a driver on a @dewey/db database.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * import { DeweyDialect } from "jsr:@dewey/db/kysely";
 * import { Kysely } from "kysely";
 *
 * const kysely = new Kysely<Record<string, never>>({
 *   dialect: new DeweyDialect({ db: new DatabaseConnection("postgres://app@localhost/app") }),
 * });
 * ```
 */
export class DeweyDialect implements KyselyDialect {
  #config: DeweyDialectConfig;

  /** `config.db` is the database every query runs on. */
  constructor(config: DeweyDialectConfig) {
    this.#config = config;
  }

  /** A {@linkcode DeweyDriver} on the configured database. */
  createDriver(): ReturnType<KyselyDialect["createDriver"]> {
    return new DeweyDriver(this.#config);
  }

  /** PostgreSQL's query compiler. */
  createQueryCompiler(): ReturnType<KyselyDialect["createQueryCompiler"]> {
    return new PostgresQueryCompiler();
  }

  /** PostgreSQL's adapter. */
  createAdapter(): ReturnType<KyselyDialect["createAdapter"]> {
    return new PostgresAdapter();
  }

  /** PostgreSQL's introspector. */
  createIntrospector(
    db: Parameters<KyselyDialect["createIntrospector"]>[0],
  ): ReturnType<KyselyDialect["createIntrospector"]> {
    return new PostgresIntrospector(db);
  }
}

/**
 * Kysely's `Driver` on a @dewey/db database. Kysely asks for a connection for
 * every query; what it gets is a handle that takes a real connection only when
 * the work needs one (a connection scope, a transaction).
 */
class DeweyDriver implements Driver {
  #config: DeweyDialectConfig;
  #db: DeweyDatabase | undefined;

  /** See {@linkcode DeweyDialectConfig}. */
  constructor(config: DeweyDialectConfig) {
    this.#config = config;
  }

  /** Resolves `config.db` when it is a function. */
  async init(): Promise<void> {
    const { db } = this.#config;
    this.#db ??= typeof db === "function" ? await db() : db;
  }

  /**
   * A handle for one unit of Kysely's work. Kysely passes `signal` (possibly
   * undefined) for a `connection()` scope and for a statement it may cancel:
   * both get a connection of their own. Otherwise (a single query, a
   * transaction, a stream) nothing is taken until the first call shows what
   * is needed.
   */
  acquireConnection(options?: { readonly signal?: AbortSignal }): Promise<DatabaseConnection> {
    const db = this.#live();
    if (options === undefined || !("signal" in options)) return Promise.resolve(new DeweyConnection(db));
    // Inside `db.getSession(fn)` (see inSession) the scope is the caller's session.
    const session = db.currentSession();
    if (session !== undefined) return Promise.resolve(new DeweyConnection(db, session));
    return db.engine.connect({ signal: options.signal }).then((conn) => new DeweyConnection(db, conn, true));
  }

  /**
   * `BEGIN` with Kysely's isolation level and access mode: a @dewey/db session
   * (`db.getSession`), a savepoint inside the caller's session, or the
   * statement itself on a connection scope's connection. Kysely's query log
   * shows it as the statement `PostgresDriver` sends (`start transaction isolation level ...`).
   */
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const options: SessionOptions = {
      ...this.#config.transaction,
      isolation: settings.isolationLevel as SessionOptions["isolation"],
      readOnly: settings.accessMode === "read only",
    };
    const text = beginText(settings);
    const h = handle(connection);
    await h.control(connection, text, () => h.begin(options, text));
  }

  /** `COMMIT`; `AbortedTransactionError` when the server rolled back instead (a statement in it had failed). */
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const h = handle(connection);
    await h.control(connection, "commit", () => h.commit());
  }

  /** `ROLLBACK`. */
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const h = handle(connection);
    await h.control(connection, "rollback", () => h.rollback());
  }

  /** `SAVEPOINT "name"`. */
  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("savepoint", savepointName), createQueryId()));
  }

  /** `ROLLBACK TO "name"`: one statement. */
  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("rollback to", savepointName), createQueryId()));
  }

  /** `RELEASE "name"`. */
  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("release", savepointName), createQueryId()));
  }

  /** Gives back what the handle took (rolling back a transaction left open). */
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await handle(connection).release();
  }

  /** Closes the database, once it was used (as `PostgresDriver` ends its pool). */
  async destroy(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    await db?.close();
  }

  #live(): DeweyDatabase {
    if (this.#db === undefined) throw new Error("driver has already been destroyed");
    return this.#db;
  }
}

/** The statement `PostgresDriver` sends to begin a transaction with `settings`. */
function beginText(settings: TransactionSettings): string {
  if (!settings.isolationLevel && !settings.accessMode) return "begin";
  let text = "start transaction";
  if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
  if (settings.accessMode) text += ` ${settings.accessMode}`;
  return text;
}

/** `error` with the stack of the caller's `await`s appended, as Kysely's own drivers extend theirs. */
function withCallerStack(error: unknown): never {
  const caller = new Error().stack;
  if (error instanceof Error && typeof error.stack === "string" && caller) {
    error.stack += `\n${caller.split("\n").slice(1).join("\n")}`;
  }
  throw error;
}

/** `SAVEPOINT "name"` and its kin, the name quoted by the compiler (as Kysely's own drivers build them). */
function savepointCommand(command: string, name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}

function handle(connection: DatabaseConnection): DeweyConnection {
  if (connection instanceof DeweyConnection) return connection;
  throw new TypeError("not a connection of DeweyDriver");
}

/** Where statements run: the database (pipelined), a connection, or a session. */
type Target = Pick<DeweyDatabase, "query" | "cursor">;

const AFFECTS_ROWS: ReadonlySet<string> = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/** A result as `PostgresDriver` gives it: rows, and `numAffectedRows` for writes. */
function kyselyResult<R>(result: QueryResult<Row>): KyselyResult<R> {
  const { command } = result;
  if (command === "COMMIT" || command === "ROLLBACK") return { rows: [{ command } as R] };
  return {
    numAffectedRows: AFFECTS_ROWS.has(command) ? BigInt(result.rowCount) : undefined,
    rows: result.rows as R[],
  };
}

/**
 * Kysely's `DatabaseConnection`: statements go to the transaction when one is
 * open, else to the scope's connection or session, else to the pool.
 */
class DeweyConnection implements DatabaseConnection {
  #db: DeweyDatabase;
  /** A connection scope's connection or session; undefined for a single query. */
  #scope: PooledConnection | Session | undefined;
  /** Whether `#scope` is ours to give back (a session of the caller's is not). */
  #owned: boolean;
  /** The transaction Kysely opened on this handle: a session of its own, or a savepoint. */
  #session: Session | undefined;
  /** Whether BEGIN was sent on `#scope` itself (a transaction inside a connection scope). */
  #begun = false;
  /** Aborts the statement in flight on `cancelQuery`. */
  #cancel: AbortController | undefined;
  /** The backend's process id, once `collectSessionInfo` asked (for `killSession`). */
  #pid: number | undefined;
  /** A transaction control statement of the driver's, run by `action` instead of being sent as it is. */
  #control: { query: CompiledQuery; action: () => Promise<KyselyResult<unknown>> } | undefined;

  constructor(db: DeweyDatabase, scope?: PooledConnection | Session, owned = false) {
    this.#db = db;
    this.#scope = scope;
    this.#owned = owned;
  }

  #target(): Target {
    return this.#session ?? this.#scope ?? this.#db;
  }

  executeQuery<R>(compiledQuery: CompiledQuery, options?: { readonly signal?: AbortSignal }): Promise<KyselyResult<R>> {
    const control = this.#control;
    if (control !== undefined && control.query === compiledQuery) {
      return control.action().catch(withCallerStack) as Promise<KyselyResult<R>>;
    }
    const target = this.#target();
    const { sql, parameters } = compiledQuery;
    if (options?.signal === undefined) return target.query(sql, parameters).then(kyselyResult<R>, withCallerStack);
    // Kysely's default on abort is to stop waiting and let the statement finish; cancelQuery() cancels it.
    const cancel = this.#cancel = new AbortController();
    return target.query(sql, parameters, { signal: cancel.signal }).then(kyselyResult<R>, withCallerStack).finally(
      () => {
        if (this.#cancel === cancel) this.#cancel = undefined;
      },
    );
  }

  /**
   * Runs the driver's transaction statement `text` through `connection.executeQuery` when Kysely wrapped it to log
   * queries, where `action` does the work (the session's BEGIN, COMMIT or ROLLBACK); else runs `action` directly.
   */
  control(
    connection: DatabaseConnection,
    text: string,
    action: () => Promise<KyselyResult<unknown> | void>,
  ): Promise<unknown> {
    // Kysely logs by replacing executeQuery on the connection object itself.
    if (!Object.hasOwn(connection, "executeQuery")) return action();
    const query = CompiledQuery.raw(text);
    this.#control = { query, action: () => action().then((result) => result ?? { rows: [] }) };
    return connection.executeQuery(query).finally(() => this.#control = undefined);
  }

  /** Cancels the statement in flight on the server (`inflightQueryAbortStrategy: "cancel query"`). */
  cancelQuery(): Promise<void> {
    this.#cancel?.abort(new Error("cancelled by Kysely"));
    return Promise.resolve();
  }

  /** Learns the backend's process id, for `killSession` (Kysely asks before a statement it may abort). */
  async collectSessionInfo(): Promise<void> {
    if (this.#pid !== undefined) return;
    const { rows } = await this.#target().query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    this.#pid = rows[0]?.pid;
  }

  /**
   * Ends the backend running the statement in flight (`inflightQueryAbortStrategy: "kill session"`), from a pooled
   * connection: its transaction rolls back, its locks go; the pool drops the dead connection.
   */
  async killSession(): Promise<void> {
    if (this.#pid === undefined || this.#cancel === undefined) return;
    await this.#db.query("SELECT pg_terminate_backend($1)", [this.#pid]);
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number,
    options?: { readonly signal?: AbortSignal },
  ): AsyncIterableIterator<KyselyResult<R>> {
    const cursor = this.#target().cursor<R>(compiledQuery.sql, compiledQuery.parameters, {
      batchSize: chunkSize,
      signal: options?.signal,
    });
    for await (const rows of cursor) yield { rows };
  }

  async begin(options: SessionOptions, text: string): Promise<void> {
    const scope = this.#scope;
    if (scope === undefined) {
      // Inside `db.getSession(fn)` a transaction nests as a savepoint, as a nested session does.
      const outer = this.#db.currentSession();
      this.#session = outer !== undefined ? await nested(outer, options) : await this.#db.getSession(options);
    } else if (isSession(scope)) {
      this.#session = await nested(scope, options);
    } else {
      await scope.query(text);
      this.#begun = true;
    }
  }

  async commit(): Promise<KyselyResult<unknown>> {
    const session = this.#session;
    if (session !== undefined) {
      this.#session = undefined;
      try {
        await session.commit();
      } catch (error) {
        // The session's COMMIT came back as ROLLBACK: Kysely's signal that the transaction had failed.
        if (session.depth === 0 && (error as { code?: string }).code === "25P02") {
          throw new AbortedTransactionError({ cause: error });
        }
        throw error;
      }
    } else if (this.#begun) {
      this.#begun = false;
      const { command } = await this.#scope!.query("COMMIT");
      if (command === "ROLLBACK") throw new AbortedTransactionError();
    }
    return { rows: [{ command: "COMMIT" }] };
  }

  /** Rolls back what is still open; nothing once a failed COMMIT has ended the transaction. */
  async rollback(): Promise<void> {
    const session = this.#session;
    if (session !== undefined) {
      this.#session = undefined;
      await session.rollback();
    } else if (this.#begun) {
      this.#begun = false;
      await this.#scope!.query("ROLLBACK");
    }
  }

  async release(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) await session[Symbol.asyncDispose]();
    if (this.#owned) await (this.#scope as PooledConnection).release();
    this.#scope = undefined;
  }
}

/** A savepoint in `outer`; isolation and access mode are the outer transaction's. */
function nested(outer: Session, options: SessionOptions): Promise<Session> {
  if (options.isolation !== undefined || options.readOnly) {
    throw new TypeError("isolation level and access mode cannot be set on a transaction nested in a session");
  }
  return outer.getSession();
}

function isSession(scope: PooledConnection | Session): scope is Session {
  return "depth" in scope;
}

/** Options of {@linkcode inSession}: those of `db.getSession(fn, options)`. */
export type InSessionOptions = SessionOptions;

/**
 * Runs `fn` in a @dewey/db session (`db.getSession(fn, options)`): every
 * query `kysely` runs inside `fn` (single queries, `connection()`, streams)
 * joins that transaction; COMMIT when `fn` returns, ROLLBACK when it throws.
 * With `retry`, a transaction that failed in a way that is safe to run again
 * (serialization failure, deadlock, connection lost before COMMIT was sent)
 * runs `fn` again from the start, so `fn` must be safe to run more than once.
 * A `kysely.transaction()` inside `fn` is a savepoint. Needs a runtime with
 * `AsyncLocalStorage` (Deno, Node, Workers with `nodejs_compat`).
 *
 * @example
 * ```ts ignore
 * import { inSession } from "jsr:@dewey/db/kysely";
 *
 * const total = await inSession(db, kysely, async (trx) => {
 *   await trx.updateTable("account").set((eb) => ({ balance: eb("balance", "-", 10) })).where("id", "=", 1).execute();
 *   await trx.updateTable("account").set((eb) => ({ balance: eb("balance", "+", 10) })).where("id", "=", 2).execute();
 *   return await trx.selectFrom("account").select((eb) => eb.fn.sum("balance").as("sum")).executeTakeFirstOrThrow();
 * }, { isolation: "serializable", retry: 5 });
 * ```
 */
export function inSession<K, T>(
  db: DeweyDatabase,
  kysely: K,
  fn: (trx: K) => Promise<T>,
  options?: InSessionOptions,
): Promise<T> {
  return db.getSession(async () => {
    if (db.currentSession() === undefined) {
      throw new TypeError("inSession needs AsyncLocalStorage, which this runtime does not have");
    }
    return await fn(kysely);
  }, options);
}
