/**
 * The pool's side of the database client metrics, for both exporters: the
 * timings come from the database's own events (`connect`, `checkout`,
 * `checkin`), the sizes from `db.stats()` read when metrics are collected, so
 * the pool does no extra work per statement.
 *
 * @module
 */

import type { InstrumentedDatabase, PoolStats } from "../src/contracts.ts";

/** Receives pool timings, in seconds. */
export interface PoolTimings {
  /** A connection opened after `seconds` (`db.client.connection.create_time`). */
  created(seconds: number): void;
  /** A checkout waited `seconds` for its connection (`db.client.connection.wait_time`). */
  waited(seconds: number): void;
  /** A checked-out connection came back after `seconds` (`db.client.connection.use_time`). */
  used(seconds: number): void;
}

/**
 * Feeds `sink` from the events of `db`; returns the function that stops it.
 * Pipelined autocommit statements borrow no connection: their queueing shows
 * in `db.client.operation.duration` and `pending_requests`, not here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Emitter } from "../src/events.ts";
 * import { watchPool } from "./pool_metrics.ts";
 * const events = new Emitter();
 * const waits: number[] = [];
 * const stop = watchPool(events, { created() {}, waited: (s) => waits.push(s), used() {} });
 * events.emit("checkout", { id: 1, waitMs: 250 });
 * stop();
 * events.emit("checkout", { id: 1, waitMs: 100 });
 * assert.deepEqual(waits, [0.25]);
 * ```
 */
export function watchPool(db: Pick<InstrumentedDatabase, "on">, sink: PoolTimings): () => void {
  const offs = [
    db.on("connect", (e) => sink.created(e.detail.durationMs / 1000)),
    db.on("checkout", (e) => sink.waited(e.detail.waitMs / 1000)),
    db.on("checkin", (e) => sink.used(e.detail.holdMs / 1000)),
  ];
  return () => offs.forEach((off) => off());
}

/** The pool sizes in the conventions' terms. */
export interface PoolGauges {
  /** `db.client.connection.count{state=idle}`. */
  idle: number;
  /** `db.client.connection.count{state=used}`: leased, or running pipelined statements. */
  used: number;
  /** `db.client.connection.max`: `pool_max`. */
  max: number;
  /** `db.client.connection.idle.min`: `pool_min`. */
  idleMin: number;
  /** `db.client.connection.pending_requests`: callers waiting for a connection. */
  pending: number;
  /** `db.client.connection.timeouts`: waits that ended in `PoolTimeoutError`, since the start. */
  timeouts: number;
}

/**
 * The gauges of `stats`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { poolGauges } from "./pool_metrics.ts";
 * const stats = { total: 3, idle: 1, inUse: 2, waiting: 4, opening: 0, min: 1, max: 3, checkouts: 9, timeouts: 1,
 *   opened: 3, closed: 0, connectFailures: 0, leases: [] };
 * assert.deepEqual(poolGauges(stats), { idle: 1, used: 2, max: 3, idleMin: 1, pending: 4, timeouts: 1 });
 * ```
 */
export function poolGauges(stats: PoolStats): PoolGauges {
  return {
    idle: stats.idle,
    used: stats.inUse,
    max: stats.max,
    idleMin: stats.min,
    pending: stats.waiting,
    timeouts: stats.timeouts,
  };
}
