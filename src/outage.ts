/**
 * What a pool knows when it cannot open connections: whether the server is
 * down (attempts fail) or full (it answers 53300, too many connections), since
 * when, why; when to try again; and how to say it to callers.
 *
 * Two rules keep a pool from storming a server that cannot take it: attempts
 * are made by one timer, never by a caller's arrival, and the timer's delay
 * grows with the outage. A full server is up: the pool keeps serving on the
 * connections it has and only retries growth, more slowly.
 *
 * @module
 */

import { outageDelay } from "./backoff.ts";
import { isRetryableConnectFailure, isServerFull } from "./classify.ts";
import { DatabaseConnectionError } from "./errors.ts";
import { describeError, type Redactor } from "./redact.ts";

/**
 * Shortest step between growth attempts against a full server, ms: each
 * refused attempt still costs the server a forked backend, and the pool is
 * serving on the connections it has meanwhile.
 */
export const FULL_RETRY_MIN = 1000;

/**
 * One pool's outage state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Outage } from "./outage.ts";
 * const outage = new Outage();
 * outage.failed(Object.assign(new Error("sorry, too many clients already"), { code: "53300" }));
 * assert(outage.active && outage.fullSince !== undefined && outage.downSince === undefined);
 * assert.match(outage.describe("db:5432"), /server db:5432 full \(53300: too many connections\) since/);
 * assert(outage.nextDelay(100, 10_000) >= 500);
 * assert.equal(outage.recovered()?.attempts, 1);
 * assert(!outage.active);
 * ```
 */
export class Outage {
  /** Set while the server is down or full. */
  active = false;
  /** Wall-clock ms of the first failed attempt of the current outage (not counting 53300). */
  downSince: number | undefined;
  /** Wall-clock ms of the first 53300 since the last connection opened. */
  fullSince: number | undefined;
  /** Failed attempts in the current outage. */
  attempts = 0;
  /** The last failed attempt's error. */
  lastError: Error | undefined;

  /** Notes a failed attempt. */
  failed(error: unknown): void {
    this.lastError = error instanceof Error ? error : new Error(String(error));
    if (isServerFull(error)) this.fullSince ??= Date.now();
    else this.downSince ??= Date.now();
    this.attempts++;
    this.active = true;
  }

  /** Clears the state once a connection opened; the `reconnected` event's detail, if there was an outage. */
  recovered(): { downtimeMs: number; attempts: number } | undefined {
    if (!this.active) return undefined;
    const since = Math.min(this.downSince ?? Infinity, this.fullSince ?? Infinity);
    const detail = { downtimeMs: Date.now() - since, attempts: this.attempts };
    this.active = false;
    this.downSince = this.fullSince = this.lastError = undefined;
    this.attempts = 0;
    return detail;
  }

  /** When the current outage started (down, else full), ISO 8601. */
  get since(): string {
    return new Date(this.downSince ?? this.fullSince ?? Date.now()).toISOString();
  }

  /**
   * The wait before the next attempt, ms: a fifth of the outage's age, at
   * least `base` (for a full server at least {@linkcode FULL_RETRY_MIN}), at
   * most `max`, jittered. A restart is caught within a fraction of its length,
   * while a long outage is probed every `max` or so.
   */
  nextDelay(base: number, max: number): number {
    const down = this.downSince !== undefined;
    const since = down ? this.downSince! : this.fullSince ?? Date.now();
    return outageDelay(Date.now() - since, down ? base : Math.max(base, FULL_RETRY_MIN), max);
  }

  /** `server <label> unreachable since <when> (<why>)`, or `full (53300 ...)` for a full server. */
  describe(label: string, redactor?: Redactor): string {
    const code = (this.lastError as { code?: unknown } | undefined)?.code;
    const what = this.downSince === undefined
      ? "full (53300: too many connections)"
      : code === "PROXY_UNREACHABLE"
      ? "unreachable: its WebSocket proxy does not answer"
      : !isRetryableConnectFailure(this.lastError)
      ? "refusing the connection"
      : "unreachable";
    const why = this.lastError ? ` (${describeError(this.lastError, redactor)})` : "";
    return `server ${label} ${what} since ${this.since}${why}`;
  }

  /**
   * The error for a caller turned away at once: the pool has no connection
   * and its last attempt failed, so waiting would only wait for the next
   * attempt's timer. Retryable; nothing was sent.
   */
  error(label: string, redactor?: Redactor): DatabaseConnectionError {
    const code = (this.lastError as { code?: unknown } | undefined)?.code;
    return new DatabaseConnectionError(`no connection: ${this.describe(label, redactor)}`, {
      code: typeof code === "string" ? code : undefined,
      retryable: isRetryableConnectFailure(this.lastError),
      reachedServer: false,
      cause: this.lastError,
    });
  }
}
