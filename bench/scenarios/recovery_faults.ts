/**
 * The recovery scenario's fault measurements besides the restart: a server
 * that is full (53300) while the pool holds some of its connections, the
 * Neon adapter with its WebSocket proxy not running, and every idle backend
 * killed at the moment statements are sent. Counts, not speeds: how hard the
 * pool knocks on a server that cannot take it, and what callers see.
 *
 * @module
 */

import postgres from "postgres";
import { DatabaseConnection } from "../../mod.ts";
import { type Cluster, startCluster } from "../../tests/helpers/cluster.ts";
import { neonProxyDown } from "../../tests/helpers/neon.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ours(cluster: Cluster, settings: Record<string, unknown> = {}): DatabaseConnection {
  return new DatabaseConnection({
    postgres: {
      host: "127.0.0.1",
      port: cluster.port,
      dbname: "postgres",
      user: "postgres",
      sslmode: "disable",
      close_timeout: "1s",
      health_check_interval: 0,
      ...settings,
    },
  }, { logger: false });
}

/** What {@linkcode fullServer} measured. */
export interface FullServer {
  /** Connections the pool held while the server was full. */
  connections: number;
  /** Sessions served in the measured window. */
  served: number;
  /** Refused connection attempts per second once the pool held what the server could give it. */
  refusedPerSecond: number;
  /** Callers that got an error (they should all be served on the open connections). */
  failed: number;
}

/**
 * A server with 6 connection slots, 3 held by another client; 12 callers in
 * sessions want 10 connections for `ms` ms. Refusals are counted from the
 * pool's failed attempts after the first second (the pool is then open).
 */
export async function fullServer(ms: number): Promise<FullServer> {
  await using cluster = await startCluster({ settings: { max_connections: 6, superuser_reserved_connections: 0 } });
  const other = postgres(cluster.url("postgres"), { max: 3, idle_timeout: 0, onnotice: () => {} });
  try {
    await Promise.all([1, 2, 3].map(() => other`SELECT pg_sleep(0.05)`));
    await using db = ours(cluster, { pool_min: 1, pool_max: 10, pool_acquire_timeout: "30s" });
    await db.validateConnection();
    const start = performance.now();
    let served = 0;
    let failed = 0;
    let openedFailures: number | undefined;
    await Promise.all(Array.from({ length: 12 }, async () => {
      while (performance.now() < start + 1000 + ms) {
        try {
          await db.getSession((s) => s.query("SELECT pg_sleep(0.005)"));
          if (openedFailures !== undefined) served++;
        } catch {
          failed++;
        }
        if (openedFailures === undefined && performance.now() > start + 1000) {
          openedFailures = db.stats().connectFailures;
        }
      }
    }));
    const stats = db.stats();
    return {
      connections: stats.total,
      served,
      refusedPerSecond: (stats.connectFailures - (openedFailures ?? 0)) / (ms / 1000),
      failed,
    };
  } finally {
    await other.end({ timeout: 1 });
  }
}

/** What {@linkcode missingProxy} measured. */
export interface MissingProxy {
  /** Connection attempts in the window. */
  attempts: number;
  /** Callers in the window. */
  callers: number;
  /** The slowest caller's wait for its error, ms. */
  slowestMs: number;
  /** Whether every error named the proxy. */
  namesProxy: boolean;
}

/**
 * The Neon adapter pointed at a WebSocket proxy that is not running, default
 * backoff settings, a caller every 5 ms for `ms` ms: how many connection
 * attempts, how fast callers hear, and whether they hear about the proxy.
 */
export async function missingProxy(ms: number): Promise<MissingProxy> {
  const { db: proxied, proxy } = neonProxyDown();
  await using db = proxied;
  let callers = 0;
  let slowestMs = 0;
  let namesProxy = true;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    const error = await db.query("SELECT 1").then(() => undefined, (e) => e as Error);
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    callers++;
    if (!error || !error.message.includes(proxy)) namesProxy = false;
    await sleep(5);
  }
  return { attempts: db.stats().connectFailures, callers, slowestMs, namesProxy };
}

/** What {@linkcode killedIdle} measured, per kind of statement: successes out of the statements sent. */
export interface KilledIdle {
  /** Statements of each kind sent right after each kill. */
  sent: number;
  /** `INSERT ... VALUES ($1)`: parameterised, extended protocol. */
  parameterised: number;
  /** `SELECT 1` without parameters: simple protocol. */
  plain: number;
  /** `getSession` with one insert. */
  sessions: number;
}

/**
 * Kills every idle backend of a 10-connection pool with `pg_terminate_backend`
 * (returning at once, so the backends die while the statements arrive) and
 * sends `perRound` statements of one kind right away; `rounds` kills per kind.
 */
export async function killedIdle(cluster: Cluster, rounds: number, perRound: number): Promise<KilledIdle> {
  const name = `dewey_bench_kill_${Deno.pid}`;
  const admin = postgres(cluster.url("postgres"), { max: 1, onnotice: () => {} });
  await admin.unsafe("CREATE TABLE IF NOT EXISTS bench_kill (id int NOT NULL)");
  await using db = ours(cluster, { pool_min: 10, pool_max: 10, application_name: name });
  const result: KilledIdle = { sent: rounds * perRound, parameterised: 0, plain: 0, sessions: 0 };
  let id = 0;
  try {
    for (const kind of ["parameterised", "plain", "sessions"] as const) {
      for (let round = 0; round < rounds; round++) {
        await Promise.all(Array.from({ length: 40 }, () => db.query("SELECT 1")));
        for (let i = 0; i < 500 && (db.stats().total < 10 || db.stats().inUse > 0); i++) await sleep(10);
        await admin`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ${name}`;
        const outcomes = await Promise.allSettled(Array.from({ length: perRound }, () => {
          const n = ++id;
          if (kind === "plain") return db.query("SELECT 1");
          if (kind === "parameterised") return db.query("INSERT INTO bench_kill (id) VALUES ($1)", [n]);
          return db.getSession((s) => s.query("INSERT INTO bench_kill (id) VALUES ($1)", [n]));
        }));
        result[kind] += outcomes.filter((o) => o.status === "fulfilled").length;
      }
    }
    return result;
  } finally {
    await admin.unsafe("DROP TABLE IF EXISTS bench_kill");
    await admin.end();
  }
}
