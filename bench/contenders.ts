/**
 * The three in-process contenders, opened on the same database with the same
 * connection count and like-for-like settings (no TLS, prepared statements
 * on where the client has them).
 *
 * @module
 */

import pg from "pg";
import postgres from "postgres";
import { DatabaseConnection } from "../mod.ts";

/** The database the bench measures: `--url`, `DATABASE_URL`, else the local test database. */
export function benchUrl(flag?: string): URL {
  return new URL(flag ?? Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test");
}

/** Connection fields of a `postgres://` URL. */
export interface Target {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Database name. */
  dbname: string;
  /** User name. */
  user: string;
  /** Password, if the URL has one. */
  password?: string;
}

/**
 * Splits a URL into connection fields.
 *
 * @example
 * ```ts
 * import { target } from "./contenders.ts";
 * console.assert(target(new URL("postgres://u@h:1/d")).port === 1);
 * ```
 */
export function target(url: URL): Target {
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    dbname: decodeURIComponent(url.pathname.slice(1)) || "postgres",
    user: decodeURIComponent(url.username || "postgres"),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/**
 * `-h host -p port -U user`: the connection flags of a libpq command-line client (psql, pgbench).
 *
 * @example
 * ```ts
 * import { libpqFlags } from "./contenders.ts";
 * console.assert(libpqFlags({ host: "h", port: 1, dbname: "d", user: "u" }).join(" ") === "-h h -p 1 -U u");
 * ```
 */
export function libpqFlags(t: Target): string[] {
  return ["-h", t.host, "-p", String(t.port), "-U", t.user];
}

/** Names used in every table. */
export const OURS = "@dewey/db";
/** Raw postgres.js, one instance with `max: N`. */
export const RAW = "postgres.js";
/** `npm:pg` `Pool` with `max: N`. */
export const PG = "pg Pool";
/** PostgreSQL's own C client. */
export const PGBENCH = "pgbench";

/**
 * @dewey/db over the postgres.js adapter with `pool_min = pool_max = size`,
 * defaults otherwise; resolves once every connection is open.
 *
 * @example
 * ```ts ignore
 * const db = await openOurs(benchUrl(), 10);
 * await db.close();
 * ```
 */
export async function openOurs(
  url: URL,
  size: number,
  settings: Record<string, unknown> = {},
): Promise<DatabaseConnection> {
  const t = target(url);
  const db = new DatabaseConnection({
    postgres: {
      host: t.host,
      port: t.port,
      dbname: t.dbname,
      user: t.user,
      ...(t.password ? { password: t.password } : {}),
      sslmode: "disable",
      application_name: "dewey_bench",
      pool_min: size,
      pool_max: size,
      health_check_interval: 0,
      ...settings,
    },
  }, { logger: false });
  await db.validateConnection();
  const end = performance.now() + 10_000;
  while (db.stats().total < Math.min(size, Number(settings.pool_min ?? size))) {
    if (performance.now() > end) throw new Error(`@dewey/db opened ${db.stats().total} of ${size} connections in 10 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return db;
}

/** A raw postgres.js client. */
export type Sql = ReturnType<typeof postgres>;

/**
 * A raw postgres.js client for `url` (plaintext, no idle or lifetime limits), not yet connected.
 *
 * @example
 * ```ts ignore
 * const sql = rawClient(benchUrl());
 * ```
 */
export function rawClient(url: URL, max = 1): Sql {
  const t = target(url);
  return postgres({
    host: t.host,
    port: t.port,
    database: t.dbname,
    user: t.user,
    pass: t.password,
    max,
    ssl: false,
    idle_timeout: 0,
    max_lifetime: 0,
    onnotice: () => {},
    connection: { application_name: "dewey_bench_raw" },
  });
}

/**
 * Raw postgres.js with `max: size`; every connection opened by a burst of
 * concurrent queries before it is returned.
 *
 * @example
 * ```ts ignore
 * const sql = await openRaw(benchUrl(), 10);
 * await sql.end();
 * ```
 */
export async function openRaw(url: URL, size: number): Promise<Sql> {
  const sql = rawClient(url, size);
  await Promise.all(Array.from({ length: size * 2 }, () => sql`SELECT pg_sleep(0.005)`));
  return sql;
}

/**
 * `npm:pg` `Pool` with `max: size`, every connection opened.
 *
 * @example
 * ```ts ignore
 * const pool = await openPg(benchUrl(), 10);
 * await pool.end();
 * ```
 */
export async function openPg(url: URL, size: number): Promise<pg.Pool> {
  const t = target(url);
  const pool = new pg.Pool({
    host: t.host,
    port: t.port,
    database: t.dbname,
    user: t.user,
    password: t.password,
    max: size,
    idleTimeoutMillis: 0,
    application_name: "dewey_bench_pg",
  });
  await Promise.all(Array.from({ length: size * 2 }, () => pool.query("SELECT pg_sleep(0.005)")));
  return pool;
}

/** 10 single-connection postgres.js instances with least-loaded dispatch: @dewey/db's design, without it. */
export const DISPATCH = "10× postgres.js max:1";

/**
 * The dispatch @dewey/db does for autocommit statements, written directly on postgres.js: `size` instances with
 * `max: 1`, each statement to the one with the fewest in flight. The floor of that design on this machine, so
 * the table shows what @dewey/db's own layer costs on top of it.
 *
 * @example
 * ```ts ignore
 * const d = await openDispatch(benchUrl(), 10);
 * await d.run((sql) => sql`SELECT 1`);
 * await d.close();
 * ```
 */
export async function openDispatch(
  url: URL,
  size: number,
): Promise<{ run<T>(op: (sql: Sql) => Promise<T>): Promise<T>; close(): Promise<void> }> {
  const sqls = await Promise.all(Array.from({ length: size }, () => openRaw(url, 1)));
  const load = new Int32Array(size);
  return {
    async run(op) {
      let best = 0;
      for (let i = 1; i < size; i++) if (load[i] < load[best]) best = i;
      load[best]++;
      try {
        return await op(sqls[best]);
      } finally {
        load[best]--;
      }
    },
    close: async () => void await Promise.all(sqls.map((s) => s.end({ timeout: 1 }))),
  };
}

/** All three in-process contenders on one database. */
export interface Trio {
  /** @dewey/db. */
  ours: DatabaseConnection;
  /** Raw postgres.js. */
  raw: Sql;
  /** `npm:pg` Pool. */
  pg: pg.Pool;
  /** Closes all three. */
  close(): Promise<void>;
}

/**
 * Opens the three contenders with `size` connections each.
 *
 * @example
 * ```ts ignore
 * await using trio = await openTrio(benchUrl(), 10);
 * ```
 */
export async function openTrio(url: URL, size: number): Promise<Trio & AsyncDisposable> {
  const ours = await openOurs(url, size);
  const raw = await openRaw(url, size);
  const pool = await openPg(url, size);
  const close = async () => {
    await Promise.all([ours.close(), raw.end({ timeout: 1 }), pool.end()]);
  };
  return { ours, raw, pg: pool, close, [Symbol.asyncDispose]: close };
}
