/**
 * Turns events into one-line structured logs (logfmt), at sensible levels.
 * Replace it with any object that has `debug/info/warn/error`, or silence it
 * with `logger: false`.
 *
 * @module
 */

import type { DatabaseEventMap, DatabaseEventName, Emitter } from "./events.ts";
import { redactText } from "./redact.ts";

/** A log sink: `console` fits, as do most logging libraries. */
export interface Logger {
  /** Verbose: every checkout, checkin, connection. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Notable: reconnected, schema version changed. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Needs attention: reconnecting, pool exhausted, leak suspected. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Broken. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Log levels, quietest last. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

type Leveller<K extends DatabaseEventName> = LogLevel | ((detail: DatabaseEventMap[K]) => LogLevel);

/** The level of each event. */
const LEVELS: { [K in DatabaseEventName]: Leveller<K> } = {
  "connect": "debug",
  "disconnect": (d) => d.reason === "error" || d.reason === "validation" ? "info" : "debug",
  "checkout": "debug",
  "checkin": "debug",
  "validation-failed": "warn",
  "reconnecting": "warn",
  "reconnected": "info",
  "pool-exhausted": "warn",
  "leak-suspected": "warn",
  "schema-version": "info",
  "health-change": (d) => d.status === "healthy" ? "info" : "warn",
  "failover": "warn",
  "listen-gap": "warn",
  "listen-error": "error",
};

/** Floods of the same warning (500 callers hitting an exhausted pool) are logged once per this many ms. */
const QUIET_MS = 1000;

/**
 * Formats fields as `key=value` pairs, quoting values with spaces; redacted
 * by `redact` (a configuration's `redactorOf(config).redact`; the generic
 * patterns by default).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logfmt } from "./logger.ts";
 * assert(logfmt({ event: "reconnecting", attempt: 2, error: "ECONNREFUSED x" }) ===
 *   'event=reconnecting attempt=2 error="ECONNREFUSED x"');
 * ```
 */
export function logfmt(fields: Record<string, unknown>, redact: (text: string) => string = redactText): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    let s = typeof v === "string" ? v : typeof v === "number" ? String(Math.round(v * 100) / 100) : JSON.stringify(v);
    s = redact(s);
    parts.push(`${k}=${/[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s}`);
  }
  return parts.join(" ");
}

/** A logger writing one logfmt line per event to the console. */
export const consoleLogger: Logger = {
  debug: (m, f) => console.debug(`dewey ${m}${f ? " " + logfmt(f) : ""}`),
  info: (m, f) => console.info(`dewey ${m}${f ? " " + logfmt(f) : ""}`),
  warn: (m, f) => console.warn(`dewey ${m}${f ? " " + logfmt(f) : ""}`),
  error: (m, f) => console.error(`dewey ${m}${f ? " " + logfmt(f) : ""}`),
};

/**
 * Subscribes `logger` to the events at `level` or above and returns a function
 * that unsubscribes. Events below the level are not even listened to, so they
 * cost nothing on the hot path.
 *
 * @example
 * ```ts
 * import { Emitter } from "./events.ts";
 * import { attachLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = (m: string) => lines.push(m);
 * const detach = attachLogger(new Emitter(), { debug: log, info: log, warn: log, error: log }, "info");
 * detach();
 * ```
 */
export function attachLogger(events: Emitter, logger: Logger, level: LogLevel = "info"): () => void {
  const offs: (() => void)[] = [];
  const last = new Map<string, number>();
  for (const name of Object.keys(LEVELS) as DatabaseEventName[]) {
    const leveller = LEVELS[name] as Leveller<typeof name>;
    // Variable-level events may reach the threshold; fixed ones below it are skipped entirely.
    if (typeof leveller === "string" && RANK[leveller] < RANK[level]) continue;
    offs.push(events.on(name, (event) => {
      const detail = event.detail as DatabaseEventMap[typeof name];
      const lvl = typeof leveller === "function" ? (leveller as (d: unknown) => LogLevel)(detail) : leveller;
      if (RANK[lvl] < RANK[level]) return;
      if (lvl === "warn" && name !== "leak-suspected") {
        const t = Date.now();
        if (t - (last.get(name) ?? -Infinity) < QUIET_MS) return;
        last.set(name, t);
      }
      logger[lvl](name, detail as unknown as Record<string, unknown>);
    }));
  }
  return () => offs.forEach((off) => off());
}
