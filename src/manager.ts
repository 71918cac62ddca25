/**
 * `dbManager`: the application-wide database, configured lazily from
 * `config/dewey.yaml` (or `$DEWEY_CONFIG`, `DATABASE_URL`, `PG*`) on first
 * use, or explicitly once.
 *
 * @module
 */

import type { QueryOptions } from "./abort.ts";
import { loadConfig } from "./config/load.ts";
import { type ConnectionConfig, DatabaseConnection, type DatabaseConnectionOptions } from "./connection.ts";
import type { QueryResult, Row } from "./driver.ts";
import type { HealthSnapshot } from "./health.ts";
import type { Session, SessionOptions } from "./session.ts";

/**
 * Holds one {@linkcode DatabaseConnection} for the whole application.
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
  #db: Promise<DatabaseConnection> | undefined;
  #explicit = false;

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
    const db = config instanceof DatabaseConnection ? config : new DatabaseConnection(config, options);
    this.#db = Promise.resolve(db);
    this.#explicit = true;
    return db;
  }

  /** Whether a database was configured or loaded. */
  get configured(): boolean {
    return this.#db !== undefined;
  }

  /** The database, loading the configuration on first use. */
  get(): Promise<DatabaseConnection> {
    if (!this.#db) {
      const pending = loadConfig().then((config) => new DatabaseConnection(config));
      this.#db = pending;
      pending.catch(() => {
        if (this.#db === pending) this.#db = undefined; // a fixed config file can be loaded on the next call
      });
    }
    return this.#db;
  }

  /** `db.query` on the managed database. */
  async query<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    return await (await this.get()).query<R>(text, params, options);
  }

  /** `db.sql` on the managed database. */
  async sql<R = Row>(strings: TemplateStringsArray, ...values: unknown[]): Promise<R[]> {
    return await (await this.get()).sql<R>(strings, ...values);
  }

  /** `db.getSession` on the managed database (both forms). */
  getSession(options?: SessionOptions): Promise<Session>;
  /** `db.getSession(fn)` on the managed database. */
  getSession<T>(fn: (session: Session) => Promise<T>, options?: SessionOptions): Promise<T>;
  async getSession<T>(
    fnOrOptions?: ((session: Session) => Promise<T>) | SessionOptions,
    options?: SessionOptions,
  ): Promise<T | Session> {
    const db = await this.get();
    return typeof fnOrOptions === "function"
      ? await db.getSession(fnOrOptions, options)
      : await db.getSession(fnOrOptions);
  }

  /** `db.validateConnection` on the managed database. */
  async validateConnection(): Promise<void> {
    await (await this.get()).validateConnection();
  }

  /** `db.health` on the managed database. */
  async health(): Promise<HealthSnapshot> {
    return await (await this.get()).health();
  }

  /** Closes the managed database and forgets it, so it can be configured again. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#explicit = false;
    if (db) await (await db.catch(() => undefined))?.close();
  }

  /** Whether the database was configured explicitly rather than loaded. */
  get explicit(): boolean {
    return this.#explicit;
  }
}

/**
 * The global database manager, after the seed's `db_manager`.
 *
 * @example
 * ```ts ignore
 * import { dbManager } from "jsr:@dewey/db";
 * const rows = await dbManager.sql`SELECT 1 AS one`;
 * ```
 */
export const dbManager: DatabaseManager = new DatabaseManager();
