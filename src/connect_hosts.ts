/**
 * Opening one connection the way libpq does: walk the host list (in order,
 * or shuffled with `load_balance_hosts: random`), bound each attempt by
 * `connect_timeout`, and keep the first server that matches
 * `target_session_attrs`. An optional part of the core: the Deno/Node runtime
 * includes it, the edge runtime does not.
 *
 * @module
 */

import { raceAbort } from "./abort.ts";
import type { DatabaseConfig, HostPort, TargetSessionAttrs } from "./config/types.ts";
import { bound, connectError, dial, type Dialed } from "./connect.ts";
import type { Connector, ConnectorOptions, Driver, DriverConnection } from "./contracts.ts";
import { DatabaseConnectionError } from "./errors.ts";

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
 * import assert from "node:assert/strict";
 * import { matchesAttrs } from "./connect_hosts.ts";
 * assert(matchesAttrs("read-write", { inRecovery: false, readOnly: false }));
 * assert(!matchesAttrs("primary", { inRecovery: true, readOnly: true }));
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

/**
 * Asks a fresh connection what it is.
 *
 * @example
 * ```ts ignore
 * const { inRecovery, readOnly } = await serverRole(conn);
 * ```
 */
export async function serverRole(conn: DriverConnection): Promise<ServerRole> {
  const { rows } = await conn.query(
    "SELECT pg_is_in_recovery() AS r, current_setting('default_transaction_read_only') AS ro",
  );
  const row = rows[0] ?? {};
  return { inRecovery: row.r === true || row.r === "t", readOnly: row.ro === "on" };
}

/** `serverRole`, given up (and the connection closed) when `signal` aborts: a server may accept and then hang. */
async function roleWithin(conn: DriverConnection, signal: AbortSignal): Promise<ServerRole> {
  try {
    return await raceAbort(serverRole(conn), signal);
  } catch (error) {
    await conn.close();
    throw error;
  }
}

/**
 * Builds the pool's connector for `targets` (the configured hosts, or one replica).
 *
 * It remembers the host its last connection landed on. When a later walk
 * skips that host (down, or no longer matching `target_session_attrs`) and
 * lands elsewhere, it emits `failover` with `from`, `to` and the reason. With
 * `read-write` or `primary` any move is one (there is one writable server); with
 * other attributes, landing on another healthy host is load balancing, not failover.
 *
 * @example
 * ```ts ignore
 * const connect = hostListConnector(driver, config, config.hosts, { events: db });
 * const conn = await connect(signal, () => {});
 * ```
 */
export function hostListConnector(
  driver: Driver,
  config: DatabaseConfig,
  targets: readonly HostPort[],
  options: ConnectorOptions = {},
): Connector {
  const attrs = options.attrs ?? config.target_session_attrs;
  const singleWriter = attrs === "read-write" || attrs === "primary";
  let current: string | undefined;
  const landed = (target: string, failures: readonly DatabaseConnectionError[], skipped: Map<string, string>) => {
    const from = current;
    current = target;
    if (from === undefined || from === target || targets.length < 2) return;
    const why = skipped.get(from);
    if (why === undefined && !singleWriter) return;
    options.events?.emit("failover", {
      from,
      to: target,
      reason: why ?? `${target} is now the ${attrs} server` + (failures.length ? ` (${failures.length} skipped)` : ""),
    });
  };
  return async (signal, onClose, onNotification) => {
    const order = config.load_balance_hosts === "random" ? shuffle(targets) : targets;
    const failures: DatabaseConnectionError[] = [];
    const skipped = new Map<string, string>();
    let fallback: (Dialed & { target: string }) | undefined;
    for (const hostPort of order) {
      const target = `${hostPort.host}:${hostPort.port}`;
      if (signal.aborted) break;
      const attempt = bound(driver, config, target, signal);
      try {
        const { conn, accept } = await dial(driver, config, hostPort, attempt.signal, onClose, onNotification);
        if (attrs === "any") {
          accept();
          landed(target, failures, skipped);
          return conn;
        }
        const role = await roleWithin(conn, attempt.signal);
        if (matchesAttrs(attrs, role)) {
          accept();
          if (fallback) await fallback.conn.close();
          landed(target, failures, skipped);
          return conn;
        }
        if (attrs === "prefer-standby" && !fallback) fallback = { conn, accept, target };
        else await conn.close();
        const mismatch = new DatabaseConnectionError(
          `${target} is ${role.inRecovery ? "a standby" : "a primary"}${
            role.readOnly && !role.inRecovery ? " (read-only)" : ""
          }, not ${attrs}`,
          { code: "TARGET_SESSION_ATTRS", retryable: true, reachedServer: false },
        );
        failures.push(mismatch);
        skipped.set(target, mismatch.message);
      } catch (error) {
        const reason = attempt.signal.aborted ? attempt.signal.reason : error;
        const failure = connectError(reason, target);
        failures.push(failure);
        skipped.set(target, failure.message);
        if (signal.aborted) break;
      } finally {
        attempt.end();
      }
    }
    if (fallback && signal.aborted) await fallback.conn.close();
    else if (fallback) {
      fallback.accept();
      landed(fallback.target, failures, skipped);
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
    // The pool reads the code: a standby answering means a promotion may come any moment (retry soon);
    // otherwise take a retryable failure's code when there is one.
    code: failures.some((f) => f.code === "TARGET_SESSION_ATTRS")
      ? "TARGET_SESSION_ATTRS"
      : (failures.find((f) => f.retryable) ?? failures.at(-1))?.code,
    retryable: failures.some((f) => f.retryable),
    reachedServer: false,
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
