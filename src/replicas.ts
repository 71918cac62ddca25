/**
 * Routing read-only work to read replicas: a replica is used while it is
 * reachable and, when `max_replica_lag` is set, no further behind than that;
 * several usable replicas take turns; with none usable the caller falls back
 * to the primary. No timers: a replica is re-checked when a read-only caller
 * comes by and its last check is older than the check interval. An optional
 * part of the core: the Deno/Node runtime includes it, the edge runtime does not.
 *
 * @module
 */

import { withDeadline } from "./abort.ts";
import type { HostPort } from "./config/types.ts";
import type { HealthStatus, ReplicaHealth, Router, RouterOptions } from "./contracts.ts";
import type { Pool } from "./pool.ts";
import { describeError } from "./redact.ts";

/**
 * How far a standby is behind, in ms, as one float8 (`lag_ms`), or NULL when
 * that cannot be told.
 *
 * - Not in recovery (promoted): 0, it is behind nothing.
 * - Streaming and everything received is replayed: 0. An idle primary sends no
 *   commits, so `now() - pg_last_xact_replay_timestamp()` would grow without
 *   the standby being behind at all.
 * - Otherwise (replay behind what arrived, or the WAL receiver gone): the age
 *   of the last replayed commit (since startup if none), an upper bound of how
 *   stale its data may be. It overstates the lag just after a quiet spell,
 *   which only makes the router cautious for one check.
 *
 * `pg_stat_wal_receiver` hides its details from unprivileged roles but still
 * lists the receiver's row, which is all this asks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLICA_LAG_SQL } from "./replicas.ts";
 * assert(REPLICA_LAG_SQL.includes("pg_last_wal_replay_lsn"));
 * ```
 */
export const REPLICA_LAG_SQL = `SELECT (CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0
  ELSE 1000 * EXTRACT(EPOCH FROM now() - COALESCE(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))
END)::float8 AS lag_ms`;

/** What the router knows about one replica, for the health snapshot. */
export interface ReplicaState {
  /** `host:port`. */
  readonly target: string;
  /** Whether read-only work goes there; undefined before the first check. */
  readonly usable: boolean | undefined;
  /** Lag at the last check, ms (only measured with `max_replica_lag`). */
  readonly lagMs?: number;
  /** Why it is skipped. */
  readonly reason?: string;
  /** When it was last checked (ISO 8601). */
  readonly checkedAt?: string;
}

/** Options of {@linkcode ReplicaRouter}. */
export type ReplicaRouterOptions = RouterOptions;

interface Entry {
  pool: Pool;
  target: string;
  usable: boolean | undefined;
  lagMs?: number;
  reason?: string;
  checkedAt: number;
  wallClock?: number;
  check?: Promise<void>;
}

const now = () => performance.now();
const live = (pool: Pool) => pool.slots.some((s) => !s.dead && !s.conn.closed);

/**
 * Picks the replica for the next read-only statement or session.
 *
 * @example
 * ```ts ignore
 * const router = new ReplicaRouter([replicaPool], [{ host: "db2", port: 5432 }], {
 *   maxLag: 1000, pipelining: true, checkTimeout: 5000, events: db, primary: "db1:5432",
 * });
 * const target = (await router.pick()) ?? primaryPool;
 * ```
 */
export class ReplicaRouter implements Router<Pool> {
  readonly #entries: Entry[];
  readonly #options: ReplicaRouterOptions;
  readonly #interval: number;
  readonly #checks = new Set<Promise<void>>();
  #next = 0;
  #closed = false;

  /** `pools[i]` serves `targets[i]`. */
  constructor(
    pools: readonly Pool[],
    targets: readonly { host: string; port: number }[],
    options: ReplicaRouterOptions,
  ) {
    this.#entries = pools.map((pool, i) => ({
      pool,
      target: `${targets[i].host}:${targets[i].port}`,
      usable: undefined,
      checkedAt: -Infinity,
    }));
    this.#options = options;
    // With a lag bound a replica may drift past it between checks by at most this much.
    this.#interval = options.maxLag === undefined ? 1000 : Math.min(1000, Math.max(50, options.maxLag / 2));
  }

  /**
   * A usable replica (round robin), or undefined: then the caller uses the
   * primary. Waits for a fresh check of replicas last seen usable (or never
   * checked); a replica last seen unusable is re-checked in the background.
   */
  async pick(): Promise<Pool | undefined> {
    const entries = this.#entries;
    if (entries.length === 0 || this.#closed) return undefined;
    const t = now();
    let waits: Promise<void>[] | undefined;
    for (const e of entries) {
      if (e.pool.closing) continue;
      const stale = t - e.checkedAt >= this.#interval;
      if (e.usable === false) {
        if (stale) void this.#check(e);
      } else if (stale || !live(e.pool)) {
        (waits ??= []).push(this.#check(e));
      }
    }
    if (waits) await Promise.all(waits);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[(this.#next + i) % entries.length];
      if (e.usable && !e.pool.closing && e.pool.downSince === undefined) {
        this.#next = (this.#next + i + 1) % entries.length;
        return e.pool;
      }
    }
    return undefined;
  }

  /**
   * Reports that `pool`'s replica just failed a caller (its connection broke):
   * it is skipped until a later check finds it usable again.
   */
  failed(pool: Pool, error: unknown): void {
    const e = this.#entries.find((x) => x.pool === pool);
    if (e) this.#record(e, false, undefined, describeError(error));
  }

  /** What is known about the replica `pool` serves. */
  state(pool: Pool): ReplicaState | undefined {
    const e = this.#entries.find((x) => x.pool === pool);
    if (!e) return undefined;
    return {
      target: e.target,
      usable: e.usable,
      lagMs: e.lagMs === undefined ? undefined : Math.round(e.lagMs),
      reason: e.usable === false ? e.reason : undefined,
      checkedAt: e.wallClock === undefined ? undefined : new Date(e.wallClock).toISOString(),
    };
  }

  /** The replicas' part of the health snapshot, and whether any is down or skipped. */
  health(): { degraded: boolean; replicas: ReplicaHealth[] } {
    let degraded = false;
    const replicas = this.#entries.map((e) => {
      const r = e.pool;
      const state = this.state(r);
      const down = r.downSince !== undefined;
      if (down || state?.usable === false) degraded = true;
      const status: HealthStatus = down && !r.slots.length
        ? "unhealthy"
        : down || state?.usable === false
        ? "degraded"
        : "healthy";
      return {
        target: r.options.label,
        status,
        downSince: down ? new Date(r.downSince!).toISOString() : undefined,
        lastError: down && r.lastError ? describeError(r.lastError) : state?.reason,
        lagMs: state?.lagMs,
      };
    });
    return { degraded, replicas };
  }

  /** Stops checking and waits for checks under way (call after closing the pools, which ends them). */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#checks.size) await Promise.allSettled([...this.#checks]);
  }

  #check(e: Entry): Promise<void> {
    if (e.check) return e.check;
    const check = this.#run(e).finally(() => {
      e.check = undefined;
      this.#checks.delete(check);
    });
    e.check = check;
    this.#checks.add(check);
    return check;
  }

  async #run(e: Entry): Promise<void> {
    const { maxLag } = this.#options;
    let usable = true;
    let lagMs: number | undefined;
    let reason: string | undefined;
    try {
      // No live connection: open one now, so a down replica fails fast with its own error.
      if (!live(e.pool)) await e.pool.warm();
      if (maxLag !== undefined) {
        const measured = await this.#lag(e.pool);
        if (measured === null) {
          usable = false;
          reason = "replication lag unknown (not streaming and no replayed transaction)";
        } else {
          lagMs = measured;
          usable = measured <= maxLag;
          if (!usable) reason = `lag ${Math.round(measured)} ms over max_replica_lag ${maxLag} ms`;
        }
      }
    } catch (error) {
      usable = false;
      reason = describeError(error);
    }
    this.#record(e, usable, lagMs, reason);
  }

  #record(e: Entry, usable: boolean, lagMs: number | undefined, reason: string | undefined): void {
    const was = e.usable;
    Object.assign(e, { usable, lagMs, reason, checkedAt: now(), wallClock: Date.now() });
    if (this.#closed || was === usable || (was === undefined && usable)) return;
    const { events, primary } = this.#options;
    if (!usable) {
      const other = this.#entries.find((x) => x !== e && x.usable && x.pool.downSince === undefined);
      events.emit("failover", { from: e.target, to: other?.target ?? primary, reason: `replica skipped: ${reason}` });
    } else {
      const lag = lagMs === undefined ? "" : ` (lag ${Math.round(lagMs)} ms)`;
      events.emit("failover", { to: e.target, reason: `replica usable again${lag}` });
    }
  }

  #lag(pool: Pool): Promise<number | null> {
    return withDeadline({ timeout: this.#options.checkTimeout }, async (signal, running) => {
      let row: Record<string, unknown> | undefined;
      if (this.#options.pipelining) {
        const slot = pool.pick() ?? await pool.waitShared(signal);
        try {
          running();
          row = (await pool.run(slot, REPLICA_LAG_SQL, undefined, signal)).rows[0];
        } finally {
          pool.done(slot);
        }
      } else {
        const lease = await pool.acquire(signal);
        try {
          running();
          row = (await lease.query(REPLICA_LAG_SQL, undefined, signal)).rows[0];
        } finally {
          await lease.release();
        }
      }
      const lag = row?.lag_ms;
      return typeof lag === "number" ? lag : lag === null || lag === undefined ? null : Number(lag);
    });
  }
}

/**
 * The replica router for `pools` (`pools[i]` serves `targets[i]`): what a runtime's `replicas` part loads.
 *
 * @example
 * ```ts ignore
 * const router = replicaRouter(replicaPools, config.replicas, { pipelining: true, checkTimeout: 5000, events: db, primary: "db1:5432" });
 * ```
 */
export function replicaRouter(
  pools: readonly Pool[],
  targets: readonly HostPort[],
  options: RouterOptions,
): Router<Pool> {
  return new ReplicaRouter(pools, targets, options);
}
