/**
 * What the server says about itself and its connection limits, asked on the doctor's connection.
 *
 * @module
 */

import type { DriverConnection } from "../src/contracts.ts";
import type { ServerFacts } from "./types.ts";

const FACTS = `SELECT current_setting('server_version') AS version,
  current_setting('max_connections')::int AS max_connections,
  current_setting('superuser_reserved_connections')::int AS superuser_reserved,
  coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use,
  coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
  coalesce((SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user), -1) AS role_limit,
  coalesce((SELECT datconnlimit FROM pg_database WHERE datname = current_database()), -1) AS database_limit,
  current_user AS "user", current_database() AS database, pg_is_in_recovery() AS in_recovery,
  current_setting('default_transaction_read_only') = 'on' AS read_only`;

/**
 * The server's version, role (primary or standby) and connection limits.
 *
 * @example
 * ```ts ignore
 * const facts = await serverFacts(conn);
 * console.log(facts.version, facts.maxConnections);
 * ```
 */
export async function serverFacts(conn: DriverConnection): Promise<ServerFacts> {
  const row = (await conn.query(FACTS)).rows[0];
  return {
    version: String(row.version),
    maxConnections: Number(row.max_connections),
    superuserReserved: Number(row.superuser_reserved),
    reserved: Number(row.reserved),
    inUse: Number(row.in_use),
    superuser: row.superuser === true,
    roleLimit: Number(row.role_limit),
    databaseLimit: Number(row.database_limit),
    user: String(row.user),
    database: String(row.database),
    inRecovery: row.in_recovery === true,
    readOnly: row.read_only === true,
  };
}

/**
 * `, authenticated by scram-sha-256` from PostgreSQL 16's `system_user`, `, no password asked (trust)`
 * when it is null; empty on older servers.
 *
 * @example
 * ```ts ignore
 * const how = `as user app${await authMethod(conn)}`;
 * ```
 */
export async function authMethod(conn: DriverConnection): Promise<string> {
  try {
    const { rows } = await conn.query("SELECT system_user AS s");
    const s = rows[0]?.s;
    return typeof s === "string" ? `, authenticated by ${s.split(":")[0]}` : ", no password asked (trust)";
  } catch {
    return "";
  }
}
