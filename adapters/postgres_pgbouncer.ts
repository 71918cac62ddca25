/**
 * What the postgres.js adapter must not do behind PgBouncer in transaction mode
 * (`pgbouncer: true` / `pooler: transaction`).
 *
 * Named prepared statements are already off (`config.prepare` is false then).
 * The startup packet is the other trap: PgBouncer 1.18 accepts only the
 * parameters it tracks (`client_encoding`, `application_name`, `DateStyle`,
 * `TimeZone`, `standard_conforming_strings`) and closes the connection with
 * 08P01 on any other (`statement_timeout`, `options`, `search_path`). Setting one
 * with `SET` after connecting instead would stick to a server connection that
 * other clients' transactions then run on. So it is refused, with the way out.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import { ConfigError } from "../src/errors.ts";

/**
 * Throws a `ConfigError` when `config` asks for a startup parameter PgBouncer
 * would reject: `statement_timeout`, or server settings in `options`, with `pgbouncer` on.
 *
 * @example
 * ```ts
 * import { checkPgBouncerStartup } from "./postgres_pgbouncer.ts";
 * import { parseConfig } from "../src/config/parse.ts";
 * checkPgBouncerStartup(parseConfig({ postgres: { host: "db", pgbouncer: true } })); // fine
 * ```
 */
export function checkPgBouncerStartup(config: DatabaseConfig): void {
  // Server settings in `options` (-c name=value, --name=value); other options (Neon's endpoint=...) are the proxy's.
  if (config.pgbouncer && config.options !== undefined && /(^|\s)(-c\s*\S|--\w)/.test(config.options)) {
    throw new ConfigError([{
      path: "database.postgres.options",
      message:
        `sets server settings at startup, which PgBouncer rejects (pgbouncer is on, ${config.sources.pgbouncer}); ` +
        `set them on the role instead (ALTER ROLE app SET search_path = app)`,
      source: config.sources.options,
    }]);
  }
  if (!config.pgbouncer || config.statement_timeout === undefined) return;
  throw new ConfigError([{
    path: "database.postgres.statement_timeout",
    message: `PgBouncer rejects it in the startup packet (pgbouncer is on, ${config.sources.pgbouncer}), ` +
      `and a SET would leak to other clients' transactions; set it on the role ` +
      `(ALTER ROLE app SET statement_timeout = '5s') or pass { timeout } per query`,
    source: config.sources.statement_timeout,
  }]);
}
