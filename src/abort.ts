/**
 * Per-statement timeouts and cancellation, and the one error every timeout
 * and abort surfaces as (`QueryCancelledError`), whatever the statement was
 * doing when it fired.
 *
 * @module
 */

import type { QueryMode } from "./contracts.ts";
import type { ErrorCode } from "./error_codes.ts";
import { type CancelPhase, QueryCancelledError, QueryError } from "./errors.ts";

/**
 * Options every query takes: a signal or timeout, replica routing, and the row and type mode
 * (`{ rowMode: "array" }`, `{ types: "raw" }`).
 */
export interface QueryOptions extends QueryMode {
  /** Cancels the statement (on the server too) when aborted: `QueryCancelledError` with code `QUERY_ABORTED`. */
  signal?: AbortSignal;
  /** Cancels the statement after this many milliseconds: `QueryCancelledError` with code `QUERY_TIMEOUT`. */
  timeout?: number;
  /** Autocommit only: run on a read replica when one is healthy. */
  readOnly?: boolean;
}

/**
 * Whether `options` asks for nothing but a row or type mode: such a statement
 * is pipelined on a shared connection like one without options (query
 * builders pass `{ rowMode: "array" }` on every statement).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modeOnly } from "./abort.ts";
 * assert(modeOnly(undefined) && modeOnly({ rowMode: "array", types: "raw" }));
 * assert(!modeOnly({ rowMode: "array", timeout: 100 }) && !modeOnly({ readOnly: true }));
 * ```
 */
export function modeOnly(options: QueryOptions | undefined): boolean {
  return options === undefined || (options.signal === undefined && !options.timeout && !options.readOnly);
}

/**
 * `promise`, or a rejection with the signal's reason as soon as `signal`
 * aborts. The promise itself keeps going: `onAbort` is the place to stop it
 * (destroy a socket, close a connection). The listener is removed once either
 * side settles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { raceAbort } from "./abort.ts";
 * const ctl = new AbortController();
 * const never = new Promise<number>(() => {});
 * const raced = raceAbort(never, ctl.signal);
 * ctl.abort(new Error("gave up"));
 * await assert.rejects(raced, /gave up/);
 * assert.equal(await raceAbort(Promise.resolve(1), ctl.signal).catch(() => "aborted"), "aborted");
 * assert.equal(await raceAbort(Promise.resolve(2), undefined), 2);
 * ```
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      promise.catch(() => {}); // settles later, unobserved
      onAbort?.();
      reject(signal.reason);
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    const done = () => signal.removeEventListener("abort", abort);
    promise.then((value) => (done(), resolve(value)), (error) => (done(), reject(error)));
  });
}

/**
 * Combines a caller's signal and a timeout into one signal; `clear()` stops
 * the timer. Returns no signal when neither was asked for. The timer aborts
 * with a `TimeoutError` `DOMException`, as `AbortSignal.timeout()` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadline } from "./abort.ts";
 * const d = deadline(undefined, 50);
 * assert(d.signal !== undefined);
 * d.clear();
 * ```
 */
export function deadline(signal?: AbortSignal, timeout?: number): { signal?: AbortSignal; clear: () => void } {
  if (!timeout) return { signal, clear: () => {} };
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new DOMException(`statement timed out after ${timeout} ms`, "TimeoutError")),
    timeout,
  );
  return {
    signal: signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal,
    clear: () => clearTimeout(timer),
  };
}

/**
 * Runs `run` under the caller's signal and timeout: the timer is cleared
 * afterwards, and a cancellation, wherever it caught the statement, becomes a
 * {@linkcode QueryCancelledError}. `run` calls `running()` once it has a
 * connection and hands the statement over: a cancellation before that is in
 * the `queued` phase.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withDeadline } from "./abort.ts";
 * import { QueryCancelledError } from "./errors.ts";
 * assert.equal(await withDeadline({ timeout: 1000 }, (signal) => Promise.resolve(signal !== undefined)), true);
 * const never = (signal?: AbortSignal) => new Promise((_, reject) => signal!.onabort = () => reject(signal!.reason));
 * const err = await withDeadline({ timeout: 10 }, never).catch((e) => e);
 * assert(err instanceof QueryCancelledError && err.code === "QUERY_TIMEOUT" && err.phase === "queued");
 * ```
 */
export async function withDeadline<T>(
  options: QueryOptions | undefined,
  run: (signal: AbortSignal | undefined, running: () => void) => Promise<T>,
): Promise<T> {
  const d = deadline(options?.signal, options?.timeout);
  let phase: CancelPhase = "queued";
  try {
    return await run(d.signal, () => phase = "running");
  } catch (error) {
    throw d.signal ? asCancelled(error, d.signal, phase) : error;
  } finally {
    d.clear();
  }
}

/**
 * The {@linkcode QueryCancelledError} for a statement whose `signal` aborted
 * in `phase`: `QUERY_TIMEOUT` when the signal's reason is a `TimeoutError`
 * (our `timeout`, `AbortSignal.timeout()`), else `QUERY_ABORTED`. `cause` is
 * the server's 57014 when it was cancelled there, else the signal's reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cancelledError } from "./abort.ts";
 * const err = cancelledError(AbortSignal.abort(new Error("user left")), "queued", false);
 * assert(err.code === "QUERY_ABORTED" && err.message.includes("user left") && !err.reachedServer);
 * ```
 */
export function cancelledError(
  signal: AbortSignal,
  phase: CancelPhase,
  reachedServer: boolean,
  serverError?: QueryError,
): QueryCancelledError {
  const reason = signal.reason as { name?: unknown; message?: unknown } | undefined;
  const timeout = reason?.name === "TimeoutError";
  const why = typeof reason?.message === "string" && reason.message ? reason.message : String(reason);
  const where = phase === "queued"
    ? "while waiting for a connection"
    : reachedServer
    ? "cancelled on the server"
    : "before it was sent";
  return new QueryCancelledError(timeout ? `${why} (${where})` : `statement aborted ${where}: ${why}`, {
    code: timeout ? "QUERY_TIMEOUT" satisfies ErrorCode : "QUERY_ABORTED" satisfies ErrorCode,
    phase,
    reachedServer,
    cause: serverError ?? signal.reason,
  });
}

/**
 * `error` as the caller should see it once `signal` aborted: the signal's
 * own reason (what the pool and the adapters reject with for a statement
 * they never sent) or the server's 57014 becomes a
 * {@linkcode QueryCancelledError}; anything else (a statement that failed
 * for its own reasons meanwhile) is left alone. Cursors and COPY use it too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asCancelled } from "./abort.ts";
 * const signal = AbortSignal.abort(new Error("gave up"));
 * assert.equal((asCancelled(signal.reason, signal, "queued") as { code: string }).code, "QUERY_ABORTED");
 * ```
 */
export function asCancelled(error: unknown, signal: AbortSignal, phase: CancelPhase): unknown {
  if (!signal.aborted || error instanceof QueryCancelledError) return error;
  if (error === signal.reason) return cancelledError(signal, phase, false);
  if (error instanceof QueryError && error.code === "57014") return cancelledError(signal, "running", true, error);
  return error;
}
