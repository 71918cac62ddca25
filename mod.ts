/**
 * `@dewey/db`: a production-grade PostgreSQL connection layer for Deno and Node
 * (postgres.js over TCP), with an embedded PGlite for demos and tests. For
 * Deno Deploy and Cloudflare Workers use `@dewey/db/edge`.
 *
 * This entry point is a preset: its `DatabaseConnection`, `getConnection`,
 * `loadConfig`, `parseConfig` and `dbManager` use {@linkcode NODE_RUNTIME}
 * (files, the process environment, `AsyncLocalStorage`, every adapter).
 *
 * @example Query, then a transaction
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 *
 * const db = await getConnection("postgres://app@localhost:5432/app");
 * const { rows } = await db.query("SELECT $1::int AS n", [1]);
 * await db.getSession(async (session) => {
 *   await session.sql`INSERT INTO events (kind) VALUES (${"signup"})`;
 * });
 * await db.close();
 * ```
 *
 * @module
 */

import { NODE_PLATFORM, NODE_RUNTIME } from "./adapters/runtime_node.ts";
import { loadConfig as loadConfigOn, type LoadConfigOptions, loadConfigSync } from "./src/config/load.ts";
import { parseConfig as parseConfigOn, type ParseConfigOptions } from "./src/config/parse.ts";
import type { DatabaseConfig } from "./src/config/types.ts";
import {
  type ConnectionConfig,
  DatabaseConnectionBase,
  type DatabaseConnectionOptions,
  validated,
} from "./src/database.ts";
import { type DatabaseFactory, DatabaseManager } from "./src/manager.ts";

export * from "./src/api.ts";
export { ERROR_CODES, type ErrorCode } from "./src/error_codes.ts";
export { NODE_PLATFORM, NODE_RUNTIME };
export type { DatabaseFactory, LoadConfigOptions };
export { DatabaseManager };

/**
 * A PostgreSQL database on Deno or Node: a pool of connections, sessions,
 * health and events. Creating one does no I/O beyond reading configuration
 * files; the pool opens on first use. Prefer {@linkcode getConnection}, which
 * also proves the database answers. Without a configuration it takes the
 * application's, as {@linkcode loadConfig} does: `DATABASE_URL`,
 * `$DEWEY_CONFIG` / `config/dewey.yaml`, `PG*`, libpq's service and password
 * files, defaults. `options.runtime` replaces {@linkcode NODE_RUNTIME};
 * `options.driver` the adapter.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db";
 * const db = new DatabaseConnection({ postgres: { host: "localhost", dbname: "mydb", user: "app" } });
 * const { rows } = await db.query("SELECT $1::int AS n", [1]);
 * await db.close();
 * ```
 */
export class DatabaseConnection extends DatabaseConnectionBase {
  /**
   * Validates `config` (a parsed config, an object, a URL or a keyword/value string, or nothing for the
   * application's configuration) without connecting. Throws `ConfigError`.
   */
  constructor(config?: ConnectionConfig, options: DatabaseConnectionOptions = {}) {
    super(config ?? loadConfigSync(undefined, applicationConfig(options)), {
      ...options,
      runtime: options.runtime ?? NODE_RUNTIME,
    });
  }
}

/**
 * Builds a {@linkcode DatabaseConnection} and proves it connects (one round
 * trip), failing fast with `DatabaseConnectionError` (unreachable host, wrong
 * password, TLS failure) or `ConfigError` (invalid configuration). Without a
 * configuration, it is {@linkcode loadConfig}'s: `DATABASE_URL`,
 * `$DEWEY_CONFIG` / `config/dewey.yaml`, `PG*`, libpq's service and password
 * files, defaults.
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 * const db = await getConnection("postgres://app@localhost:5432/app");
 * console.log(await db.sql`SELECT now()`);
 * await db.close();
 * ```
 */
export async function getConnection(
  config?: ConnectionConfig,
  options?: DatabaseConnectionOptions,
): Promise<DatabaseConnection> {
  const loaded = config ?? await loadConfigOn(undefined, applicationConfig(options ?? {}));
  return await validated(new DatabaseConnection(loaded, options));
}

/** How the application's configuration is loaded for `options`: its runtime's files, its environment. */
function applicationConfig(options: DatabaseConnectionOptions): LoadConfigOptions {
  const runtime = options.runtime ?? NODE_RUNTIME;
  return { env: options.env, platform: runtime.platform, files: runtime.libpqFiles };
}

/**
 * Loads and validates the configuration: a YAML file path, a URL, an object,
 * or nothing for `DATABASE_URL`, `$DEWEY_CONFIG` / `config/dewey.yaml`, `PG*`
 * and defaults, reading files and the environment of this process.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "jsr:@dewey/db";
 * const config = await loadConfig();
 * console.log(`${config}`, config.sources.host);
 * ```
 */
export function loadConfig(
  source?: string | Readonly<Record<string, unknown>>,
  options: LoadConfigOptions = {},
): Promise<DatabaseConfig> {
  return loadConfigOn(source, {
    ...options,
    platform: options.platform ?? NODE_PLATFORM,
    files: options.files ?? (options.platform ? undefined : NODE_RUNTIME.libpqFiles),
  });
}

/**
 * Validates a configuration given as an object or a URL, with `${VAR}` and
 * `PG*` taken from this process's environment unless `options.env` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./mod.ts";
 * const config = parseConfig("postgres://app:hunter2@db:5432/shop?sslmode=require", { env: {} });
 * assert(String(config) === "postgres://app:***@db:5432/shop?sslmode=require");
 * ```
 */
export function parseConfig(
  input: string | Readonly<Record<string, unknown>>,
  options: ParseConfigOptions = {},
): DatabaseConfig {
  return parseConfigOn(input, {
    ...options,
    env: options.env ?? NODE_PLATFORM.env?.() ?? {},
    files: options.files ?? NODE_RUNTIME.libpqFiles,
  });
}

/**
 * The application-wide database (SQLAlchemy's `db_manager`): configured from
 * the environment and `config/dewey.yaml` on first use, or once with `configure()`.
 *
 * @example
 * ```ts ignore
 * import { dbManager } from "jsr:@dewey/db";
 * const rows = await dbManager.sql`SELECT 1 AS one`;
 * ```
 */
export const dbManager: DatabaseManager = new DatabaseManager({
  create: (config, options) => new DatabaseConnection(config, options),
  load: () => loadConfigOn(undefined, applicationConfig({})),
});
