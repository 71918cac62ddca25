/**
 * Opening one connection the way libpq does: walk the host list (in order,
 * or shuffled with `load_balance_hosts: random`), bound each attempt by
 * `connect_timeout`, and keep the first server that matches
 * `target_session_attrs`.
 *
 * @module
 */

import { isRetryableConnectFailure } from "./classify.ts";
import type { DatabaseConfig, HostPort, TargetSessionAttrs } from "./config/types.ts";
import type { Driver, DriverConnection } from "./driver.ts";
import { DatabaseConnectionError } from "./errors.ts";
import type { Connector } from "./pool.ts";
import { describe } from "./pool.ts";

/** What a server says about itself, for `target_session_attrs`. */
export interface ServerRole {
  /** `pg_is_in_recovery()`: a standby. */
  inRecovery: boolean;
  /** `transaction_read_only` is on by default. */
  readOnly: boolean;
}

/**
 * Whether a server with `role` satisfies `attrs` (libpq's meaning).
 * `prefer-standby` accepts only standbys here; the connector falls back to any
 * server when no standby answered.
 *
 * @example
 * ```ts
 * import { matchesAttrs } from "./connector.ts";
 * console.assert(matchesAttrs("read-write", { inRecovery: false, readOnly: false }));
 * console.assert(!matchesAttrs("primary", { inRecovery: true, readOnly: true }));
 * ```
 */
export function matchesAttrs(attrs: TargetSessionAttrs, role: ServerRole): boolean {
  switch (attrs) {
    case "any":
      return true;
    case "read-write":
      return !role.readOnly && !role.inRecovery;
    case "read-only":
      return role.readOnly || role.inRecovery;
    case "primary":
      return !role.inRecovery;
    case "standby":
    case "prefer-standby":
      return role.inRecovery;
  }
}

/** Asks a fresh connection what it is. */
export async function serverRole(conn: DriverConnection): Promise<ServerRole> {
  const { rows } = await conn.query(
    "SELECT pg_is_in_recovery() AS r, current_setting('default_transaction_read_only') AS ro",
  );
  const row = rows[0] ?? {};
  return { inRecovery: row.r === true || row.r === "t", readOnly: row.ro === "on" };
}

/** Wraps a failed attempt as a `DatabaseConnectionError` naming the target, keeping code and retryability. */
export function connectError(error: unknown, target: string): DatabaseConnectionError {
  if (error instanceof DatabaseConnectionError && error.message.includes(target)) return error;
  const code = (error as { code?: unknown })?.code;
  return new DatabaseConnectionError(`could not connect to ${target}: ${describe(error)}`, {
    code: typeof code === "string" ? code : undefined,
    retryable: isRetryableConnectFailure(error),
    cause: error,
  });
}

/**
 * Builds the pool's connector for `targets` (the configured hosts, or one replica).
 *
 * @example
 * ```ts ignore
 * const connect = makeConnector(driver, config, config.hosts);
 * const conn = await connect(signal, () => {});
 * ```
 */
export function makeConnector(driver: Driver, config: DatabaseConfig, targets: readonly HostPort[]): Connector {
  const attrs = config.target_session_attrs;
  return async (signal, onClose) => {
    const order = config.load_balance_hosts === "random" ? shuffle(targets) : targets;
    const failures: DatabaseConnectionError[] = [];
    let fallback: { conn: DriverConnection; accept: () => void } | undefined;
    for (const { host, port } of order) {
      const target = `${host}:${port}`;
      if (signal.aborted) break;
      const attempt = new AbortController();
      const onAbort = () => attempt.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => {
        attempt.abort(
          new DatabaseConnectionError(`connect_timeout: ${target} did not answer within ${config.connect_timeout} ms`, {
            code: "CONNECT_TIMEOUT",
            retryable: true,
          }),
        );
      }, config.connect_timeout);
      // Only the connection we hand out may report its closing to the pool.
      let accepted = false;
      const accept = () => accepted = true;
      try {
        const conn = await driver.connect({
          config,
          host,
          port,
          signal: attempt.signal,
          onClose: (error) => accepted && onClose(error),
        });
        if (attrs === "any") {
          accept();
          return conn;
        }
        const role = await serverRole(conn);
        if (matchesAttrs(attrs, role)) {
          accept();
          if (fallback) await fallback.conn.close();
          return conn;
        }
        if (attrs === "prefer-standby" && !fallback) fallback = { conn, accept };
        else await conn.close();
        failures.push(
          new DatabaseConnectionError(
            `${target} is ${role.inRecovery ? "a standby" : "a primary"}${
              role.readOnly && !role.inRecovery ? " (read-only)" : ""
            }, not ${attrs}`,
            { code: "TARGET_SESSION_ATTRS", retryable: true },
          ),
        );
      } catch (error) {
        const reason = attempt.signal.aborted ? attempt.signal.reason : error;
        failures.push(connectError(reason, target));
        if (signal.aborted) break;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    }
    if (fallback) {
      fallback.accept();
      return fallback.conn;
    }
    if (signal.aborted && failures.length === 0) throw signal.reason;
    throw combine(failures, attrs);
  };
}

function combine(failures: DatabaseConnectionError[], attrs: TargetSessionAttrs): DatabaseConnectionError {
  if (failures.length === 1) return failures[0];
  const message = `no server matched (target_session_attrs=${attrs}):\n` +
    failures.map((f) => `  - ${f.message}`).join("\n");
  return new DatabaseConnectionError(message, {
    code: failures.at(-1)?.code,
    retryable: failures.some((f) => f.retryable),
    cause: failures.at(-1),
  });
}

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
