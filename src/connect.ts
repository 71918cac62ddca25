/**
 * One connection attempt to one server under its deadline, and the pool's
 * connector for a single host. This module owns the connect deadline: the pool
 * only aborts attempts when it closes. Host lists and `target_session_attrs`
 * build on it in `connect_hosts.ts`, an optional part a runtime may leave out.
 *
 * @module
 */

import { isRetryableConnectFailure, isServerFull } from "./classify.ts";
import type { DatabaseConfig, HostPort } from "./config/types.ts";
import type {
  Connector,
  ConnectorOptions,
  ConnectRequest,
  Driver,
  DriverConnection,
  HostListConnector,
} from "./contracts.ts";
import { DatabaseConnectionError } from "./errors.ts";
import { describeError } from "./redact.ts";

/**
 * Bound on an embedded database's start instead of `connect_timeout`: PGlite
 * runs initdb in-process, seconds even on a quiet machine, and there is no
 * network to time out.
 */
export const EMBEDDED_START_TIMEOUT = 120_000;

/**
 * Wraps a failed attempt as a `DatabaseConnectionError` naming the target, keeping code and retryability.
 * Nothing was sent on a connection that never opened: `reachedServer` is false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectError } from "./connect.ts";
 * const err = connectError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "db:5432");
 * assert(err.retryable && !err.reachedServer && err.message.includes("db:5432"));
 * ```
 */
export function connectError(error: unknown, target: string): DatabaseConnectionError {
  if (error instanceof DatabaseConnectionError && error.message.includes(target)) return error;
  const code = (error as { code?: unknown })?.code;
  // The server is up but has no connection slot left: not "unreachable".
  const why = isServerFull(error) ? `server full (${describeError(error)})` : describeError(error);
  return new DatabaseConnectionError(`could not connect to ${target}: ${why}`, {
    code: typeof code === "string" ? code : undefined,
    retryable: isRetryableConnectFailure(error),
    reachedServer: false, // no statement is sent before a connection is up
    cause: error,
  });
}

/** The signal of one attempt on `target`; `end()` once it settled. */
export interface Attempt {
  /** Aborts with the caller's signal, or at `connect_timeout`. */
  readonly signal: AbortSignal;
  /** Stops the timer and unhooks the caller's signal. */
  end(): void;
}

/**
 * Bounds one attempt on `target` by `signal` and `connect_timeout` (for an
 * embedded database, {@linkcode EMBEDDED_START_TIMEOUT}).
 *
 * @example
 * ```ts ignore
 * const attempt = bound(driver, config, "db:5432", signal);
 * try { await driver.connect({ ..., signal: attempt.signal }); } finally { attempt.end(); }
 * ```
 */
export function bound(driver: Driver, config: DatabaseConfig, target: string, signal: AbortSignal): Attempt {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const limit = driver.remote === false
    ? Math.max(config.connect_timeout, EMBEDDED_START_TIMEOUT)
    : config.connect_timeout;
  const timer = setTimeout(() => {
    ctl.abort(
      new DatabaseConnectionError(`connect_timeout: ${target} did not answer within ${limit} ms`, {
        code: "CONNECT_TIMEOUT",
        retryable: true,
      }),
    );
  }, limit);
  return {
    signal: ctl.signal,
    end() {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
}

/** A connection just opened, not handed out yet: it reports its closing once {@linkcode Dialed.accept} was called. */
export interface Dialed {
  /** The connection. */
  readonly conn: DriverConnection;
  /** Hands it out: from now on its closing reaches the pool. */
  accept(): void;
}

/**
 * Opens one connection to `target` with `signal` (the attempt's, from
 * {@linkcode bound}). A connection not handed out (a server role that did not
 * match, a fallback not taken) must not report its closing to the pool, so
 * `onClose` is heard only after `accept()`.
 *
 * @example
 * ```ts ignore
 * const { conn, accept } = await dial(driver, config, config.hosts[0], attempt.signal, onClose);
 * accept();
 * ```
 */
export async function dial(
  driver: Driver,
  config: DatabaseConfig,
  { host, port, address, password }: HostPort,
  signal: AbortSignal,
  onClose: (error?: Error) => void,
  onNotification?: ConnectRequest["onNotification"],
): Promise<Dialed> {
  let accepted = false;
  const conn = await driver.connect({
    config,
    host,
    port,
    address,
    password,
    signal,
    onClose: (error) => accepted && onClose(error),
    ...(onNotification ? { onNotification } : {}),
  });
  return { conn, accept: () => accepted = true };
}

/**
 * The connector for one server whatever it is (`target_session_attrs: any`).
 *
 * @example
 * ```ts ignore
 * const connect = singleConnector(driver, config, config.hosts[0]);
 * const conn = await connect(signal, () => {});
 * ```
 */
export function singleConnector(driver: Driver, config: DatabaseConfig, hostPort: HostPort): Connector {
  const target = `${hostPort.host}:${hostPort.port}`;
  return async (signal, onClose, onNotification) => {
    signal.throwIfAborted();
    const attempt = bound(driver, config, target, signal);
    try {
      const { conn, accept } = await dial(driver, config, hostPort, attempt.signal, onClose, onNotification);
      accept();
      return conn;
    } catch (error) {
      throw connectError(attempt.signal.aborted ? attempt.signal.reason : error, target);
    } finally {
      attempt.end();
    }
  };
}

/**
 * The pool's connector for `targets` (the configured hosts, or one replica):
 * a single host with `any` dials it; anything else walks the host list with
 * `hostList`, which the caller loaded from its runtime (`loadOptionalParts`
 * refuses a configuration that needs it when the runtime has none).
 *
 * @example
 * ```ts ignore
 * const connect = connectorFor(driver, config, config.hosts, { events: db }, parts.hostList);
 * ```
 */
export function connectorFor(
  driver: Driver,
  config: DatabaseConfig,
  targets: readonly HostPort[],
  options: ConnectorOptions = {},
  hostList?: HostListConnector,
): Connector {
  const attrs = options.attrs ?? config.target_session_attrs;
  if (targets.length === 1 && attrs === "any") return singleConnector(driver, config, targets[0]);
  if (!hostList) throw new TypeError(`connecting to ${targets.length} hosts needs the host-list part`);
  return hostList(driver, config, targets, options);
}
