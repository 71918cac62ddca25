/**
 * Health monitoring: periodic validation of idle connections, the health
 * snapshot, schema version tracking, and a web-standard `/healthz` handler.
 *
 * @module
 */

import type { DatabaseConfig } from "./config/types.ts";
import type { HealthStatus, PoolStats, ReplicaHealth, Router } from "./contracts.ts";
import type { Emitter } from "./events.ts";
import type { Pool } from "./pool.ts";
import { describeError } from "./redact.ts";

export type { HealthStatus };

/** What `db.health()` returns; never contains a secret. */
export interface HealthSnapshot {
  /** Overall status. */
  status: HealthStatus;
  /** When the last check ran (ISO 8601). */
  checkedAt?: string;
  /** Round trip of the last successful check, ms. */
  latencyMs?: number;
  /** `server_version`. */
  serverVersion?: string;
  /** Whether connections use TLS, and what they negotiated where the driver tells. */
  tls?: { enabled: boolean; protocol?: string; cipher?: string };
  /** Checks failed in a row. */
  consecutiveFailures: number;
  /** The last failure, redacted. */
  lastError?: string;
  /** Since when the server has been unreachable (ISO 8601). */
  downSince?: string;
  /** The last value of `schema_version_query`. */
  schemaVersion?: unknown;
  /** Pool numbers. */
  pool: Omit<PoolStats, "leases">;
  /** The `host:port` the pool's connections reach (with a host list: the one that matched `target_session_attrs`). */
  server?: string;
  /** The last `failover` event: the primary moved, or a replica was skipped or came back. */
  lastFailover?: { at: string; from?: string; to?: string; reason: string };
  /** Read replicas, when configured; `lagMs` when `max_replica_lag` is set. */
  replicas?: ReplicaHealth[];
}

/** What the monitor watches. */
export interface HealthTarget {
  /** The primary pool. */
  pool: Pool;
  /** Replica pools, labelled. */
  replicas: readonly Pool[];
  /** Where events go. */
  events: Emitter;
  /** The configuration. */
  config: DatabaseConfig;
  /** The replicas' part of the snapshot, from the replica router. */
  replicaHealth?: Router<Pool>["health"];
  /** Lets the check timer not keep the process alive (see `timerUnref`). */
  unref?: (handle: unknown) => void;
}

/**
 * Runs checks on a timer (`health_check_interval`, unref'd so it never keeps a
 * process alive) and on demand. Each check pings the idle connections (dead
 * ones are replaced), opens one if none is open, and runs
 * `schema_version_query`. Internal: reach it through `db.health()`.
 *
 * @example
 * ```ts ignore
 * const monitor = new HealthMonitor({ pool, replicas: [], events: db, config: db.config });
 * monitor.start();
 * const { status } = await monitor.check();
 * monitor.stop();
 * ```
 */
export class HealthMonitor {
  #timer: ReturnType<typeof setInterval> | undefined;
  #checkedAt: number | undefined;
  #latency: number | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #schemaVersion: unknown;
  #status: HealthStatus | undefined;
  #running: Promise<HealthSnapshot> | undefined;
  #lastFailover: HealthSnapshot["lastFailover"];

  constructor(readonly target: HealthTarget) {
    target.events.on("failover", (e) => this.#lastFailover = { at: new Date().toISOString(), ...e.detail });
  }

  /** Starts periodic checks; `health_check_interval: 0` turns them off. */
  start(): void {
    const every = this.target.config.health_check_interval;
    if (every <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check().catch(() => {}), every);
    this.target.unref?.(this.#timer);
  }

  /** Stops periodic checks. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records the round trip of a successful validation done elsewhere (`validateConnection`). */
  record(latencyMs: number): void {
    this.#checkedAt = Date.now();
    this.#latency = latencyMs;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#update();
  }

  /** Checks now (one check at a time) and returns the fresh snapshot. */
  check(): Promise<HealthSnapshot> {
    return this.#running ??= this.#check().finally(() => this.#running = undefined);
  }

  async #check(): Promise<HealthSnapshot> {
    const { pool, replicas } = this.target;
    try {
      if (pool.closing) throw new Error("the connection pool is closed");
      let rtt = await pool.checkIdle();
      // All connections busy and alive proves the server answers; only an empty pool needs a new connection.
      if (rtt === undefined && !pool.slots.some((s) => !s.dead)) rtt = await pool.warm();
      this.#latency = rtt ?? this.#latency;
      this.#failures = 0;
      this.#lastError = undefined;
      await this.#checkSchema();
    } catch (error) {
      this.#failures++;
      this.#lastError = describeError(error);
    }
    this.#checkedAt = Date.now();
    await Promise.all(replicas.map((r) => r.closing ? undefined : r.checkIdle().catch(() => {})));
    this.#update();
    return this.snapshot();
  }

  async #checkSchema(): Promise<void> {
    const { config, pool } = this.target;
    const query = config.schema_version_query;
    if (!query) return;
    // Every connection checked out for long: give up after connect_timeout rather than hang the health check.
    const ctl = new AbortController();
    const timer = setTimeout(
      () => ctl.abort(new Error("no connection free for schema_version_query")),
      config.connect_timeout,
    );
    let lease;
    try {
      lease = await pool.acquire(ctl.signal);
    } finally {
      clearTimeout(timer);
    }
    try {
      const { rows } = await lease.query(query);
      const row = rows[0];
      const current = row === undefined ? null : Object.values(row)[0] ?? null;
      const previous = this.#schemaVersion;
      this.#schemaVersion = current;
      if (previous !== undefined && String(previous) !== String(current)) {
        this.target.events.emit("schema-version", { previous, current });
      }
    } finally {
      await lease.release();
    }
  }

  #update(): void {
    const status = this.#computeStatus();
    const previous = this.#status;
    this.#status = status;
    if (previous !== undefined && previous !== status) {
      this.target.events.emit("health-change", { previous, status, error: this.#lastError });
    }
  }

  #computeStatus(): HealthStatus {
    const { pool } = this.target;
    if (pool.closing) return "unhealthy";
    const alive = pool.slots.some((s) => !s.dead);
    // A full server (53300) that refuses every connection is, for this pool, as good as down.
    const failing = pool.downSince !== undefined || pool.fullSince !== undefined;
    if (!alive && (this.#failures > 0 || failing)) return "unhealthy";
    const stats = pool.stats();
    if (this.#failures > 0 || failing || stats.waiting > 0) return "degraded";
    return this.target.replicaHealth?.()?.degraded ? "degraded" : "healthy";
  }

  /** The current snapshot, without I/O. */
  snapshot(): HealthSnapshot {
    const { pool } = this.target;
    const { leases: _, ...stats } = pool.stats();
    const info = pool.slots.find((s) => !s.dead)?.conn.info;
    const tls = info?.tls === undefined
      ? undefined
      : info.tls === null
      ? { enabled: false }
      : { enabled: true, protocol: info.tls.protocol, cipher: info.tls.cipher };
    const snapshot: HealthSnapshot = {
      status: this.#status ?? this.#computeStatus(),
      checkedAt: this.#checkedAt === undefined ? undefined : new Date(this.#checkedAt).toISOString(),
      latencyMs: this.#latency === undefined ? undefined : Math.round(this.#latency * 1000) / 1000,
      serverVersion: info?.serverVersion,
      tls,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError ??
        ((pool.downSince ?? pool.fullSince) !== undefined && pool.lastError
          ? describeError(pool.lastError)
          : undefined),
      downSince: pool.downSince === undefined ? undefined : new Date(pool.downSince).toISOString(),
      schemaVersion: this.#schemaVersion,
      pool: stats,
      server: info?.host === undefined ? undefined : `${info.host}:${info.port}`,
      lastFailover: this.#lastFailover,
    };
    const replicas = this.target.replicaHealth?.()?.replicas;
    if (replicas) snapshot.replicas = replicas;
    return snapshot;
  }
}

/** Anything with a `health()` method, such as a `DatabaseConnection`. */
export interface HealthSource {
  /** Checks and returns the snapshot. */
  health(): Promise<HealthSnapshot>;
}

/** Options of {@linkcode healthHandler}. */
export interface HealthHandlerOptions {
  /**
   * Longest wait for a check, ms (default 3000): a probe gets its answer (503) before its own timeout, even
   * while a connection attempt to an unresponsive server waits out `connect_timeout`.
   */
  timeout?: number;
}

/**
 * A web-standard handler for a `/healthz` route: 200 with the snapshot as JSON
 * while the database answers (healthy or degraded), 503 when it does not.
 * Works with `Deno.serve`, Deno Deploy, Cloudflare Workers, Hono and Node's
 * fetch-style servers.
 *
 * @example
 * ```ts ignore
 * import { getConnection, healthHandler } from "jsr:@dewey/db";
 * const db = await getConnection();
 * const healthz = healthHandler(db);
 * Deno.serve((req) => new URL(req.url).pathname === "/healthz" ? healthz(req) : new Response("hi"));
 * ```
 */
export function healthHandler(
  db: HealthSource,
  options: HealthHandlerOptions = {},
): (req: Request) => Promise<Response> {
  const timeout = options.timeout ?? 3000;
  return async (_req: Request) => {
    let body: HealthSnapshot | { status: HealthStatus; lastError: string };
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      body = await Promise.race([
        db.health(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the health check took longer than ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (error) {
      body = { status: "unhealthy", lastError: describeError(error) };
    } finally {
      clearTimeout(timer);
    }
    return new Response(JSON.stringify(body), {
      status: body.status === "unhealthy" ? 503 : 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  };
}
