/**
 * `@dewey/db/drizzle`: Drizzle ORM on a `DatabaseConnection`, built as Drizzle's own `postgres-js` and
 * `node-postgres` drivers are (a `PgSession` and a `PgPreparedQuery` over the connection), so the pool,
 * reconnection, health, events and telemetry of `@dewey/db` sit under every Drizzle query. Works with both
 * `@dewey/db` and `@dewey/db/edge`; `drizzle-orm` is an optional peer dependency, loaded only by this entry.
 *
 * - Statements run on the pipelined pool, with array rows where Drizzle maps columns itself (so joined tables
 *   with the same column names keep every column) and the server's text for the date, time, interval and
 *   `numeric[]` types Drizzle's column classes parse (so a `timestamp` never shifts with the process's time zone).
 * - `db.transaction(fn, { isolationLevel, accessMode, deferrable, retry, verifyCommit })` runs on one
 *   `@dewey/db` session; `tx.transaction()` nests as a SAVEPOINT; `tx.rollback()` rolls back as in Drizzle.
 * - Only queries given a name (`.prepare("name")`) are prepared on the server, as on Drizzle's drivers;
 *   `drizzle(db, { prepare: "all" })` prepares every parameterised one.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * import { drizzle } from "jsr:@dewey/db/drizzle";
 * import { eq } from "drizzle-orm";
 * import { integer, pgTable, text } from "drizzle-orm/pg-core";
 *
 * const users = pgTable("users", { id: integer().primaryKey(), name: text().notNull() });
 * const db = drizzle(await getConnection(Deno.env.get("DATABASE_URL")!));
 * await db.insert(users).values({ id: 1, name: "Ada" });
 * const [ada] = await db.select().from(users).where(eq(users.id, 1));
 * await db.$client.close();
 * ```
 *
 * @module
 */

import * as orm from "drizzle-orm";
import {
  type Assume,
  createTableRelationsHelpers,
  DefaultLogger,
  type DrizzleConfig,
  DrizzleQueryError,
  entityKind,
  extractTablesRelationalConfig,
  type ExtractTablesWithRelations,
  fillPlaceholders,
  type Logger,
  NoopLogger,
  type Query,
  type RelationalSchemaConfig,
  type TablesRelationalConfig,
} from "drizzle-orm";
import { type Cache, NoopCache } from "drizzle-orm/cache/core";
import type { WithCacheConfig } from "drizzle-orm/cache/core/types";
import {
  PgDatabase,
  PgDialect,
  PgPreparedQuery,
  type PgQueryResultHKT,
  PgSession,
  PgTransaction,
  type PgTransactionConfig,
  type PreparedQueryConfig,
  type SelectedFieldsOrdered,
} from "drizzle-orm/pg-core";
import type { QueryOptions } from "../src/abort.ts";
import type { FieldInfo, QueryMode, QueryResult, Row } from "../src/contracts.ts";
import type { IsolationLevel, RetryOptions, SessionOptions } from "../src/session.ts";

/**
 * Columns of these types come back as the server's text, which Drizzle's column classes parse (what its
 * `postgres-js` driver asks of postgres.js): date, time, timestamp, timestamptz, their arrays, interval,
 * `numeric[]`, timetz, and the geometric types Drizzle reads from text.
 */
const RAW_OIDS: readonly number[] = Object.freeze([
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1182, // date[]
  1115, // timestamp[]
  1185, // timestamptz[]
  1186, // interval
  1187, // interval[]
  1231, // numeric[]
  1266, // timetz
  600, // point
  628, // line
  718, // circle
]);

const RAW: QueryMode["types"] = Object.freeze({ raw: RAW_OIDS });

/**
 * Statement modes: rows as arrays (for Drizzle's field mapping) or objects (`execute()` and `all()` of raw SQL),
 * and prepared on the server only when the query was given a name (`.prepare("name")`), as Drizzle's
 * `postgres-js` and `node-postgres` drivers do: an unnamed one is parsed anew, so it never runs with parameter
 * types planned before a `DROP`/`CREATE` of what it names.
 */
const MODES = {
  array: Object.freeze({ rowMode: "array", types: RAW, prepare: false }),
  object: Object.freeze({ types: RAW, prepare: false }),
  arrayNamed: Object.freeze({ rowMode: "array", types: RAW }),
  objectNamed: Object.freeze({ types: RAW }),
} as const satisfies Record<string, QueryOptions>;

/** Drizzle's `mapResultRow`: exported by `drizzle-orm` at run time, marked internal in its declarations. */
const mapResultRow = (orm as unknown as {
  mapResultRow(fields: SelectedFieldsOrdered, row: unknown[], joins: Record<string, boolean> | undefined): unknown;
}).mapResultRow;

export type { FieldInfo, IsolationLevel, QueryMode, QueryOptions, QueryResult, RetryOptions, Row, SessionOptions };

/** What statements run on: the connection (autocommit, pipelined) or a session (a transaction or a savepoint). */
export interface Queryable {
  /** One statement; `options` asks for array rows and raw types. */
  query<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
}

/** A `@dewey/db` session as transactions use it: its statements, and SAVEPOINTs nested in it. */
export interface DrizzleSessionClient extends Queryable {
  /** Runs `fn` in a SAVEPOINT: released on return, rolled back to on throw. */
  getSession<T>(fn: (session: DrizzleSessionClient) => Promise<T>): Promise<T>;
}

/**
 * What `drizzle()` needs of a connection: a `DatabaseConnection` of `@dewey/db` or `@dewey/db/edge` (or the
 * `DatabaseConnectionBase` both extend).
 */
export interface DrizzleClient extends Queryable {
  /** Runs `fn` in a transaction on one connection (see `SessionOptions`). */
  getSession<T>(fn: (session: DrizzleSessionClient) => Promise<T>, options?: SessionOptions): Promise<T>;
}

/**
 * What `execute()` of raw SQL returns, as Drizzle's `postgres-js` driver does: the rows as objects, with the
 * command tag's verb and count beside them; `rows` and `rowCount` read as on its `node-postgres` driver.
 */
export type DeweyRowList<R> = R[] & {
  /** Rows returned or affected. */
  count: number;
  /** The command tag's verb: `SELECT`, `INSERT`... */
  command: string;
  /** The rows as a plain array, for code written against Drizzle's `node-postgres` driver (`const { rows } = ...`). */
  readonly rows: R[];
  /** `count`, under `node-postgres`'s name. */
  readonly rowCount: number;
};

/** The result type of `db.execute()` on this driver (Drizzle's query result kind). */
export interface DeweyQueryResultHKT extends PgQueryResultHKT {
  /** Rows as objects, with `count` and `command`. */
  type: DeweyRowList<Assume<this["row"], Record<string, unknown>>>;
}

/**
 * A transaction's options: Drizzle's (`isolationLevel`, `accessMode`, `deferrable`) plus `@dewey/db`'s
 * retries. `retry` re-runs the whole callback on a serialization failure, a deadlock or a connection lost
 * before COMMIT was sent (the callback must be safe to run again); `verifyCommit` settles a COMMIT whose
 * connection died before its answer (default: on when `retry` is set). See `SessionOptions`.
 */
export interface DeweyTransactionConfig extends PgTransactionConfig {
  /** Attempts in all (a number), or attempts and backoff; not on a nested transaction. */
  retry?: number | RetryOptions;
  /** Ask the server how a COMMIT whose answer was lost ended, instead of failing as in doubt. */
  verifyCommit?: boolean;
}

/** `drizzle()`'s options: Drizzle's own (`schema`, `logger`, `casing`, `cache`), and which queries are prepared. */
export interface DeweyDrizzleConfig<TSchema extends Record<string, unknown> = Record<string, never>>
  extends DrizzleConfig<TSchema> {
  /**
   * Which queries are prepared on the server. `"named"` (the default, as on Drizzle's own drivers): those given a
   * name with `.prepare("name")`; the rest are parsed anew each time. `"all"`: every parameterised query, once per
   * connection, which saves postgres.js a round trip per statement and lets statements pipeline; but a statement
   * prepared before a migration keeps the parameter types it was planned with (change the schema with the
   * application stopped, or restart it after).
   */
  prepare?: "named" | "all";
}

interface SessionContext<TSchema extends TablesRelationalConfig> {
  db: DrizzleClient;
  dialect: PgDialect;
  schema: RelationalSchemaConfig<TSchema> | undefined;
  logger: Logger;
  cache: Cache;
  prepareAll: boolean;
}

/**
 * One statement as Drizzle prepares it. A named one (`.prepare("name")`) is prepared on each connection that runs
 * it, under a name of the connection's choosing (unless `prepare` is off in the configuration, as behind a
 * transaction-mode PgBouncer); an unnamed one is parsed each time, as on Drizzle's own drivers.
 */
export class DeweyPreparedQuery<T extends PreparedQueryConfig> extends PgPreparedQuery<T> {
  /** Drizzle's class tag (`is(x, DeweySession)`). */
  static override readonly [entityKind]: string = "DeweyPreparedQuery";

  #client: Queryable;
  #text: string;
  #params: unknown[];
  #logger: Logger;
  #fields: SelectedFieldsOrdered | undefined;
  #arrayMode: boolean;
  #mapper: ((rows: unknown[][]) => T["execute"]) | undefined;
  #arrayRows: QueryOptions;
  #objectRows: QueryOptions;
  /** Whether Drizzle's cache takes part: without one, the statement skips `queryWithCache`'s frames. */
  #cached: boolean;

  /** @internal Made by {@linkcode DeweySession.prepareQuery}. */
  constructor(
    client: Queryable,
    query: Query,
    logger: Logger,
    cache: Cache,
    queryMetadata: { type: "select" | "update" | "delete" | "insert"; tables: string[] } | undefined,
    cacheConfig: WithCacheConfig | undefined,
    fields: SelectedFieldsOrdered | undefined,
    arrayMode: boolean,
    named: boolean,
    mapper?: (rows: unknown[][]) => T["execute"],
  ) {
    super(query, cache, queryMetadata, cacheConfig);
    this.#client = client;
    this.#text = query.sql;
    this.#params = query.params;
    this.#logger = logger;
    this.#fields = fields;
    this.#arrayMode = arrayMode;
    this.#mapper = mapper;
    this.#arrayRows = named ? MODES.arrayNamed : MODES.array;
    this.#objectRows = named ? MODES.objectNamed : MODES.object;
    this.#cached = !(cache instanceof NoopCache) && queryMetadata !== undefined;
  }

  /** Runs the statement with `placeholderValues` for its `sql.placeholder()`s and maps the rows as Drizzle does. */
  execute(placeholderValues: Record<string, unknown> = {}): Promise<T["execute"]> {
    const params = fillPlaceholders(this.#params, placeholderValues);
    this.#logger.logQuery(this.#text, params);
    const fields = this.#fields;
    const mapper = this.#mapper;
    if (fields === undefined && mapper === undefined) return this.#run(params, this.#objectRows, rowList);
    const joins = (this as { joinsNotNullableMap?: Record<string, boolean> }).joinsNotNullableMap;
    return this.#run(params, this.#arrayRows, (result) => {
      const rows = result.rows as unknown[][];
      if (mapper !== undefined) return mapper(rows);
      const out = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = mapResultRow(fields!, rows[i], joins);
      return out;
    });
  }

  /** The rows as objects, unmapped (Drizzle's `all()`). */
  all(placeholderValues: Record<string, unknown> = {}): Promise<T["all"]> {
    const params = fillPlaceholders(this.#params, placeholderValues);
    this.#logger.logQuery(this.#text, params);
    return this.#run(params, this.#objectRows, rowList);
  }

  /** @internal Whether Drizzle asked for array rows (relational queries read it). */
  isResponseInArrayMode(): boolean {
    return this.#arrayMode;
  }

  /**
   * The statement's result through `map`, in the one `then` that settles it; a failure of the statement (not of
   * `map`) wrapped in `DrizzleQueryError` as every Drizzle driver does, through Drizzle's cache when one is set.
   */
  #run<R>(params: unknown[], mode: QueryOptions, map: (result: QueryResult<unknown>) => R): Promise<R> {
    const text = this.#text;
    // Without parameters, the simple protocol, as Drizzle's postgres-js and node-postgres drivers send it: raw SQL
    // of several statements (a migration, `sql.raw`) runs as it does there.
    const values = params.length === 0 ? undefined : params;
    if (this.#cached) {
      return (this as unknown as {
        queryWithCache(text: string, params: unknown[], query: () => Promise<QueryResult<unknown>>): Promise<
          QueryResult<unknown>
        >;
      }).queryWithCache(text, params, () => this.#client.query<unknown>(text, values, mode)).then(map);
    }
    return this.#client.query<unknown>(text, values, mode).then(map, (error) => {
      throw new DrizzleQueryError(text, params, error);
    });
  }
}

/**
 * Object rows as Drizzle's `postgres-js` driver returns them (the rows, with `count` and `command`), which also
 * read as its `node-postgres` driver's result (`rows`, `rowCount`; not enumerated, so the rows compare as rows).
 */
function rowList(result: QueryResult<unknown>): DeweyRowList<Record<string, unknown>> {
  const rows = result.rows as Record<string, unknown>[];
  Object.defineProperties(rows, { rows: { value: rows.slice() }, rowCount: { value: result.rowCount } });
  return Object.assign(rows, { count: result.rowCount, command: result.command }) as DeweyRowList<
    Record<string, unknown>
  >;
}

/**
 * Drizzle's session over a `DatabaseConnection` (autocommit, pipelined) or over one of its sessions (inside
 * a transaction).
 */
export class DeweySession<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> extends PgSession<DeweyQueryResultHKT, TFullSchema, TSchema> {
  /** Drizzle's class tag (`is(x, DeweySession)`). */
  static override readonly [entityKind]: string = "DeweySession";

  #client: Queryable;
  #context: SessionContext<TSchema>;

  /** @internal Made by {@linkcode drizzle} and by transactions. */
  constructor(client: Queryable, context: SessionContext<TSchema>) {
    super(context.dialect);
    this.#client = client;
    this.#context = context;
  }

  /** @internal What every session of one `drizzle()` database shares. */
  get context(): SessionContext<TSchema> {
    return this.#context;
  }

  /** The connection, or the `@dewey/db` session (or savepoint) of the transaction this Drizzle session runs in. */
  get client(): Queryable {
    return this.#client;
  }

  /** @internal Drizzle's hook: one statement, ready to run. */
  prepareQuery<T extends PreparedQueryConfig = PreparedQueryConfig>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    name: string | undefined,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][]) => T["execute"],
    queryMetadata?: { type: "select" | "update" | "delete" | "insert"; tables: string[] },
    cacheConfig?: WithCacheConfig,
  ): PgPreparedQuery<T> {
    const { logger, cache, prepareAll } = this.#context;
    return new DeweyPreparedQuery<T>(
      this.#client,
      query,
      logger,
      cache,
      queryMetadata,
      cacheConfig,
      fields,
      isResponseInArrayMode,
      prepareAll || name !== undefined,
      customResultMapper,
    );
  }

  /**
   * Runs `transaction` in a `@dewey/db` session: BEGIN with the isolation level and access mode, COMMIT on
   * return, ROLLBACK on throw (and on `tx.rollback()`), re-run on a retryable failure when `retry` is set.
   */
  transaction<T>(
    transaction: (tx: DeweyTransaction<TFullSchema, TSchema>) => Promise<T>,
    config?: DeweyTransactionConfig,
  ): Promise<T> {
    const context = this.#context;
    if (config === undefined) {
      return context.db.getSession((session) =>
        transaction(new DeweyTransaction(new DeweySession(session, context), 0))
      );
    }
    const options: SessionOptions = {
      isolation: config.isolationLevel,
      readOnly: config.accessMode === "read only",
      deferrable: config.deferrable === true,
      retry: config.retry,
      verifyCommit: config.verifyCommit,
    };
    // Only what BEGIN does not say already costs a statement (the server's defaults may differ).
    const extra = [
      config.accessMode === "read write" ? "read write" : "",
      config.deferrable === false ? "not deferrable" : "",
    ].filter(Boolean).join(" ");
    // The core re-runs the callback on what it sees: a Drizzle-wrapped failure is shown to it as its cause,
    // and handed back to the caller as Drizzle threw it.
    let wrapped: DrizzleQueryError | undefined;
    const run = async (session: DrizzleSessionClient): Promise<T> => {
      const tx = new DeweyTransaction<TFullSchema, TSchema>(new DeweySession(session, context), 0);
      if (extra) await session.query(`set transaction ${extra}`);
      if (options.retry === undefined) return await transaction(tx);
      try {
        return await transaction(tx);
      } catch (error) {
        if (error instanceof DrizzleQueryError && error.cause !== undefined) {
          wrapped = error;
          throw error.cause;
        }
        throw error;
      }
    };
    if (options.retry === undefined) return context.db.getSession(run, options);
    return context.db.getSession(run, options).catch((error) => {
      throw wrapped !== undefined && error === wrapped.cause ? wrapped : error;
    });
  }
}

/**
 * A Drizzle transaction on a `@dewey/db` session; `tx.transaction()` opens a SAVEPOINT that rolls back alone.
 */
export class DeweyTransaction<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> extends PgTransaction<DeweyQueryResultHKT, TFullSchema, TSchema> {
  /** Drizzle's class tag (`is(x, DeweySession)`). */
  static override readonly [entityKind]: string = "DeweyTransaction";

  #session: DeweySession<TFullSchema, TSchema>;

  /** @internal Made by {@linkcode DeweySession.transaction}. */
  constructor(session: DeweySession<TFullSchema, TSchema>, nestedIndex: number) {
    super(session.context.dialect, session, session.context.schema, nestedIndex);
    this.#session = session;
  }

  /** Runs `transaction` in a SAVEPOINT: released on return, rolled back to on throw (the outer one goes on). */
  transaction<T>(transaction: (tx: DeweyTransaction<TFullSchema, TSchema>) => Promise<T>): Promise<T> {
    const session = this.#session;
    return (session.client as DrizzleSessionClient).getSession((savepoint) =>
      transaction(new DeweyTransaction(new DeweySession(savepoint, session.context), this.nestedIndex + 1))
    );
  }
}

/** Drizzle's database over a `@dewey/db` connection: `db.$client` is the connection. */
export class DeweyDatabase<TSchema extends Record<string, unknown> = Record<string, never>>
  extends PgDatabase<DeweyQueryResultHKT, TSchema> {
  /** Drizzle's class tag (`is(x, DeweySession)`). */
  static override readonly [entityKind]: string = "DeweyDatabase";

  /**
   * Runs `transaction` in a transaction on one connection: COMMIT on return, ROLLBACK on throw or
   * `tx.rollback()`. Beside Drizzle's `isolationLevel`, `accessMode` and `deferrable`, `retry` re-runs the
   * callback when `@dewey/db` can prove that is safe (see {@linkcode DeweyTransactionConfig}).
   *
   * @example
   * ```ts ignore
   * await db.transaction(async (tx) => {
   *   await tx.update(accounts).set({ balance: sql`${accounts.balance} - 10` }).where(eq(accounts.id, 1));
   * }, { isolationLevel: "serializable", retry: 3 });
   * ```
   */
  override transaction<T>(
    transaction: (tx: DeweyTransaction<TSchema, ExtractTablesWithRelations<TSchema>>) => Promise<T>,
    config?: DeweyTransactionConfig,
  ): Promise<T> {
    const run = transaction as (
      tx: PgTransaction<DeweyQueryResultHKT, TSchema, ExtractTablesWithRelations<TSchema>>,
    ) => Promise<T>;
    return super.transaction<T>(run, config);
  }
}

/**
 * Drizzle ORM on a `@dewey/db` connection (`@dewey/db` or `@dewey/db/edge`): `drizzle(db, { schema })`, or
 * `drizzle({ client: db, schema })` as Drizzle's drivers take it. Closing stays the connection's:
 * `await db.$client.close()`.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * import { drizzle } from "jsr:@dewey/db/drizzle";
 * import * as schema from "./schema.ts";
 *
 * const db = drizzle(await getConnection(Deno.env.get("DATABASE_URL")!), { schema });
 * const withPosts = await db.query.users.findMany({ with: { posts: true } });
 * await db.transaction(async (tx) => {
 *   await tx.update(schema.users).set({ name: "Ada" }).where(eq(schema.users.id, 1));
 * }, { isolationLevel: "serializable", retry: 3 });
 * ```
 */
export function drizzle<
  TSchema extends Record<string, unknown> = Record<string, never>,
  TClient extends DrizzleClient = DrizzleClient,
>(client: TClient, config?: DeweyDrizzleConfig<TSchema>): DeweyDatabase<TSchema> & { $client: TClient };
/**
 * `drizzle({ client: db, schema })`, as Drizzle's own drivers take a client.
 *
 * @example
 * ```ts ignore
 * const orm = drizzle({ client: await getConnection(Deno.env.get("DATABASE_URL")!), schema, casing: "snake_case" });
 * ```
 */
export function drizzle<
  TSchema extends Record<string, unknown> = Record<string, never>,
  TClient extends DrizzleClient = DrizzleClient,
>(config: DeweyDrizzleConfig<TSchema> & { client: TClient }): DeweyDatabase<TSchema> & { $client: TClient };
export function drizzle<TSchema extends Record<string, unknown>, TClient extends DrizzleClient>(
  first: TClient | (DeweyDrizzleConfig<TSchema> & { client: TClient }),
  second?: DeweyDrizzleConfig<TSchema>,
): DeweyDatabase<TSchema> & { $client: TClient } {
  const { client, ...config } = typeof (first as Partial<Queryable>).query === "function"
    ? { ...second, client: first as TClient }
    : first as DeweyDrizzleConfig<TSchema> & { client: TClient };
  if (typeof client?.query !== "function" || typeof client.getSession !== "function") {
    // A URL or another driver's client (Drizzle's own drivers take those): this driver needs the connection.
    throw new TypeError(
      "drizzle() takes a DatabaseConnection of @dewey/db or @dewey/db/edge: drizzle(await getConnection(url))",
    );
  }
  const dialect = new PgDialect({ casing: config.casing });
  const logger = config.logger === true ? new DefaultLogger() : config.logger || new NoopLogger();
  let schema: RelationalSchemaConfig<ExtractTablesWithRelations<TSchema>> | undefined;
  if (config.schema) {
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = {
      fullSchema: config.schema,
      schema: tables.tables as ExtractTablesWithRelations<TSchema>,
      tableNamesMap: tables.tableNamesMap,
    };
  }
  const cache = config.cache ?? new NoopCache();
  const session = new DeweySession<TSchema, ExtractTablesWithRelations<TSchema>>(client, {
    db: client,
    dialect,
    schema,
    logger,
    cache,
    prepareAll: config.prepare === "all",
  });
  const db = new DeweyDatabase<TSchema>(dialect, session, schema) as DeweyDatabase<TSchema> & { $client: TClient };
  db.$client = client;
  if (config.cache) db.$cache = Object.assign(config.cache, { invalidate: config.cache.onMutate });
  return db;
}

/**
 * Applies the migrations `drizzle-kit generate` wrote to `migrationsFolder` that the database has not seen,
 * in one transaction, as Drizzle's `postgres-js` migrator does (same `drizzle.__drizzle_migrations` table).
 * Reads the folder with `node:fs`: a server-side step, not one for the edge.
 *
 * @example
 * ```ts ignore
 * import { drizzle, migrate } from "jsr:@dewey/db/drizzle";
 * await migrate(drizzle(db), { migrationsFolder: "./drizzle" });
 * ```
 */
export async function migrate(
  db: DeweyDatabase<Record<string, unknown>>,
  config: { migrationsFolder: string; migrationsTable?: string; migrationsSchema?: string },
): Promise<void> {
  // Loaded on use: the migrator reads files with node:fs, which the edge entry has no use for.
  const { readMigrationFiles } = await import("drizzle-orm/migrator");
  const migrations = readMigrationFiles(config);
  const inner = db as unknown as {
    dialect: { migrate(migrations: unknown, session: unknown, config: unknown): Promise<void> };
    session: unknown;
  };
  await inner.dialect.migrate(migrations, inner.session, config);
}
