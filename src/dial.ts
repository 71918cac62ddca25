/**
 * One connection attempt to one server, bounded by `connect_timeout`, and the
 * pool's connector for a single host. Host lists and `target_session_attrs`
 * build on this in `connector.ts`, an optional part (see `extensions.ts`).
 *
 * @module
 */

import { isRetryableConnectFailure } from "./classify.ts";
import type { DatabaseConfig, HostPort, TargetSessionAttrs } from "./config/types.ts";
import type { Driver, DriverConnection } from "./driver.ts";
import { DatabaseConnectionError } from "./errors.ts";
import type { Emitter } from "./events.ts";
import { extensions } from "./extensions.ts";
import type { Connector } from "./pool.ts";
import { describeError } from "./redact.ts";

/** Options of {@linkcode connectorFor}. */
export interface ConnectorOptions {
  /** Overrides `config.target_session_attrs` (replica pools take `any`). */
  attrs?: TargetSessionAttrs;
  /** Receives a `failover` event when new connections stop landing on the host the last one did. */
  events?: Emitter;
}

/**
 * Wraps a failed attempt as a `DatabaseConnectionError` naming the target, keeping code and retryability.
 * Nothing was sent on a connection that never opened: `reachedServer` is false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectError } from "./dial.ts";
 * const err = connectError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "db:5432");
 * assert(err.retryable && !err.reachedServer && err.message.includes("db:5432"));
 * ```
 */
export function connectError(error: unknown, target: string): DatabaseConnectionError {
  if (error instanceof DatabaseConnectionError && error.message.includes(target)) return error;
  const code = (error as { code?: unknown })?.code;
  return new DatabaseConnectionError(`could not connect to ${target}: ${describeError(error)}`, {
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
 * Bounds one attempt on `target` by `signal` and `connect_timeout`. The
 * timeout is about the network: an embedded database's one-time start (PGlite
 * runs initdb, seconds) is bounded by the pool's own, longer limit instead.
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
  const timer = driver.remote === false ? undefined : setTimeout(() => {
    ctl.abort(
      new DatabaseConnectionError(`connect_timeout: ${target} did not answer within ${config.connect_timeout} ms`, {
        code: "CONNECT_TIMEOUT",
        retryable: true,
      }),
    );
  }, config.connect_timeout);
  return {
    signal: ctl.signal,
    end() {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
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
export function singleConnector(driver: Driver, config: DatabaseConfig, { host, port }: HostPort): Connector {
  const target = `${host}:${port}`;
  return async (signal, onClose) => {
    signal.throwIfAborted();
    const attempt = bound(driver, config, target, signal);
    // Only a connection handed out may report its closing to the pool.
    let accepted = false;
    try {
      const conn: DriverConnection = await driver.connect({
        config,
        host,
        port,
        signal: attempt.signal,
        onClose: (error) => accepted && onClose(error),
      });
      accepted = true;
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
 * a single host with `any` dials it; anything else walks the host list
 * (`connector.ts`, which must have been imported: `requireExtensions` says so first).
 *
 * @example
 * ```ts ignore
 * const connect = connectorFor(driver, config, config.hosts, { events: db });
 * ```
 */
export function connectorFor(
  driver: Driver,
  config: DatabaseConfig,
  targets: readonly HostPort[],
  options: ConnectorOptions = {},
): Connector {
  const attrs = options.attrs ?? config.target_session_attrs;
  if (targets.length === 1 && attrs === "any") return singleConnector(driver, config, targets[0]);
  return extensions.hostList!(driver, config, targets, options);
}
