/**
 * Per-statement timeouts and cancellation.
 *
 * @module
 */

import { QueryError } from "./errors.ts";

/** Options every query takes. */
export interface QueryOptions {
  /** Cancels the statement (on the server too) when aborted. */
  signal?: AbortSignal;
  /** Cancels the statement after this many milliseconds. */
  timeout?: number;
  /** Autocommit only: run on a read replica when one is healthy. */
  readOnly?: boolean;
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
 * the timer. Returns no signal when neither was asked for.
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
 * afterwards, and a cancellation error says why it was cancelled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withDeadline } from "./abort.ts";
 * assert.equal(await withDeadline({ timeout: 1000 }, (signal) => Promise.resolve(signal !== undefined)), true);
 * ```
 */
export async function withDeadline<T>(
  options: QueryOptions | undefined,
  run: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const d = deadline(options?.signal, options?.timeout);
  try {
    return await run(d.signal);
  } catch (error) {
    throw explainCancel(error, d.signal);
  } finally {
    d.clear();
  }
}

/**
 * Turns the server's "canceling statement due to user request" into an error
 * that says why we cancelled: the caller's abort or the timeout.
 */
export function explainCancel(error: unknown, signal: AbortSignal | undefined): unknown {
  if (!signal?.aborted || !(error instanceof QueryError) || error.code !== "57014") return error;
  const reason = signal.reason as { message?: unknown } | undefined;
  const why = typeof reason?.message === "string" ? reason.message : "aborted";
  return new QueryError({ code: "57014", message: `statement cancelled: ${why}`, severity: "ERROR" }, {
    cause: error,
  });
}
