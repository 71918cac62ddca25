/**
 * `DatabaseManager`: one {@linkcode DatabaseConnection} for the whole
 * application (SQLAlchemy's `db_manager`), configured lazily on first use or
 * explicitly once. Its query methods are the connection's own, delegated, so
 * the two cannot drift apart.
 *
 * @module
 */

import type {
  ConnectionConfig,
  DatabaseConnectionBase as DatabaseConnection,
  DatabaseConnectionOptions,
} from "./database.ts";

/** How a manager builds its connection: `create` from a configuration, `load` the configuration when none was given. */
export interface DatabaseFactory {
  /** A connection for `config` (no I/O: it connects on first use). */
  create(config: ConnectionConfig, options?: DatabaseConnectionOptions): DatabaseConnection;
  /** The application's configuration: environment, config file, defaults. */
  load(): Promise<ConnectionConfig>;
}

/** The methods a manager delegates to its connection, unchanged (each returns a promise). */
const DELEGATED = ["query", "sql", "getSession", "validateConnection", "health"] as const;

/**
 * Holds one {@linkcode DatabaseConnection} for the whole application. The
 * entry points export one as `dbManager`, building connections with their
 * runtime.
 *
 * @example
 * ```ts ignore
 * import { dbManager } from "jsr:@dewey/db";
 * await dbManager.getSession(async (s) => {
 *   await s.query("INSERT INTO audit (msg) VALUES ($1)", ["hello"]);
 * });
 * await dbManager.close();
 * ```
 */
export class DatabaseManager {
  /** `db.query` on the managed database. */
  declare readonly query: DatabaseConnection["query"];
  /** `db.sql` on the managed database. */
  declare readonly sql: DatabaseConnection["sql"];
  /** `db.getSession` on the managed database (both forms). */
  declare readonly getSession: DatabaseConnection["getSession"];
  /** `db.validateConnection` on the managed database. */
  declare readonly validateConnection: DatabaseConnection["validateConnection"];
  /** `db.health` on the managed database. */
  declare readonly health: DatabaseConnection["health"];

  #factory: DatabaseFactory;
  #db: Promise<DatabaseConnection> | undefined;
  #explicit = false;

  /** `factory` builds the connection (the entry points pass one bound to their runtime). */
  constructor(factory: DatabaseFactory) {
    this.#factory = factory;
  }

  /**
   * Configures the database explicitly, once; later calls throw until
   * {@linkcode DatabaseManager.close}. Returns the (lazy) connection.
   *
   * @example
   * ```ts ignore
   * dbManager.configure("postgres://app@localhost/app", { logger: false });
   * ```
   */
  configure(config: ConnectionConfig | DatabaseConnection, options?: DatabaseConnectionOptions): DatabaseConnection {
    if (this.#db) throw new Error("dbManager is already configured; close() it first");
    const db = isConnection(config) ? config : this.#factory.create(config, options);
    this.#db = Promise.resolve(db);
    this.#explicit = true;
    return db;
  }

  /** Whether a database was configured or loaded. */
  get configured(): boolean {
    return this.#db !== undefined;
  }

  /** Whether the database was configured explicitly rather than loaded. */
  get explicit(): boolean {
    return this.#explicit;
  }

  /** The database, loading the configuration on first use. */
  get(): Promise<DatabaseConnection> {
    if (!this.#db) {
      const pending = this.#factory.load().then((config) => this.#factory.create(config));
      this.#db = pending;
      pending.catch(() => {
        if (this.#db === pending) this.#db = undefined; // a fixed config file can be loaded on the next call
      });
    }
    return this.#db;
  }

  /** Closes the managed database and forgets it, so it can be configured again. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#explicit = false;
    if (db) await (await db.catch(() => undefined))?.close();
  }
}

for (const name of DELEGATED) {
  Object.defineProperty(DatabaseManager.prototype, name, {
    value: function (this: DatabaseManager, ...args: unknown[]) {
      return this.get().then((db) => (db[name] as (...a: unknown[]) => unknown)(...args));
    },
  });
}

function isConnection(value: unknown): value is DatabaseConnection {
  return typeof value === "object" && value !== null && typeof (value as DatabaseConnection).close === "function" &&
    typeof (value as DatabaseConnection).getSession === "function";
}
