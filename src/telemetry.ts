/**
 * The core's side of instrumentation: settling a statement's trace with its
 * outcome, and several instrumentations on one database (OpenTelemetry and a
 * Prometheus endpoint side by side) seen as one. The hooks themselves are in
 * `contracts.ts`; the implementations live in `integrations/`.
 *
 * @module
 */

import type { ConnectionInfo, QueryResult, SessionTrace, StatementTrace, Telemetry } from "./contracts.ts";

/**
 * `run`, with `trace` ended by its outcome (`run` itself when there is no
 * trace). Start the trace before the statement:
 * `traced(t.statement(text, params), lease.query(text, params))` evaluates in
 * that order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { traced } from "./telemetry.ts";
 * const ended: unknown[] = [];
 * const trace = { waiting: () => () => {}, retry() {}, end: (e: unknown) => void ended.push(e ?? "ok") };
 * const result = { rows: [], rowCount: 0, command: "SELECT", fields: [] };
 * assert.equal(await traced(trace, Promise.resolve(result)), result);
 * await assert.rejects(traced(trace, Promise.reject(new Error("boom"))), /boom/);
 * assert.equal(ended.length, 2);
 * ```
 */
export function traced<R extends QueryResult>(trace: StatementTrace | undefined, run: Promise<R>): Promise<R> {
  if (trace === undefined) return run;
  return run.then((result) => {
    trace.end(undefined, result);
    return result;
  }, (error) => {
    trace.end(error);
    throw error;
  });
}

/**
 * One `Telemetry` for several: each hook goes to every one of them, and a
 * start hook returns `undefined` only when all of them did. Undefined for none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { combineTelemetry } from "./telemetry.ts";
 * import type { Telemetry } from "./contracts.ts";
 * const seen: string[] = [];
 * const one = (name: string): Telemetry => ({
 *   statement: () => ({ waiting: () => () => {}, retry() {}, end: () => void seen.push(name) }),
 *   session: () => undefined,
 *   connect: () => undefined,
 *   close() {},
 * });
 * combineTelemetry([one("a"), one("b")])!.statement("SELECT 1", undefined)!.end(undefined);
 * assert.deepEqual(seen, ["a", "b"]);
 * assert.equal(combineTelemetry([]), undefined);
 * ```
 */
export function combineTelemetry(list: readonly Telemetry[]): Telemetry | undefined {
  if (list.length <= 1) return list[0];
  return {
    statement: (text, params) => statements(list.map((t) => t.statement(text, params))),
    session: (attempt) => sessions(list.map((t) => t.session(attempt))),
    connect(target) {
      const all = present(list.map((t) => t.connect(target)));
      if (all.length <= 1) return all[0];
      return { end: (error: unknown, info?: ConnectionInfo) => all.forEach((c) => c.end(error, info)) };
    },
    close: () => list.forEach((t) => t.close()),
  };
}

function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((t): t is T => t !== undefined);
}

function waitingAll(all: readonly { waiting(): () => void }[]): () => void {
  const ends = all.map((t) => t.waiting());
  return () => ends.forEach((end) => end());
}

function statements(items: (StatementTrace | undefined)[]): StatementTrace | undefined {
  const all = present(items);
  if (all.length <= 1) return all[0];
  return {
    waiting: () => waitingAll(all),
    retry: (error) => all.forEach((t) => t.retry(error)),
    end: (error, result) => all.forEach((t) => t.end(error, result)),
  };
}

function sessions(items: (SessionTrace | undefined)[]): SessionTrace | undefined {
  const all = present(items);
  if (all.length <= 1) return all[0];
  return {
    statement: (text, params) => statements(all.map((t) => t.statement(text, params))),
    savepoint: (name) => sessions(all.map((t) => t.savepoint(name)))!,
    waiting: () => waitingAll(all),
    retry: (error) => all.forEach((t) => t.retry(error)),
    settling() {
      const ends = all.map((t) => t.settling());
      return (outcome) => ends.forEach((end) => end(outcome));
    },
    within: <T>(fn: () => T): T => all.reduceRight<() => T>((inner, t) => () => t.within(inner), fn)(),
    end: (error, outcome) => all.forEach((t) => t.end(error, outcome)),
  };
}
