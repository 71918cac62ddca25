/**
 * The local test database: `DATABASE_URL`, else 127.0.0.1:5432/test as on CI.
 *
 * @module
 */

import postgres from "postgres";
import { DatabaseConnection, type DatabaseConnectionOptions } from "../../mod.ts";
import { createDriver } from "../../adapters/postgres.ts";

/** URL of the shared local test database. */
export const TEST_URL = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";

let seq = 0;
/** A fresh application_name, so a test can find its own backends in pg_stat_activity. */
export function appName(prefix = "t"): string {
  return `dewey_${prefix}_${Deno.pid}_${++seq}`;
}

/** A DatabaseConnection on the test database with `settings` on top (postgres.js adapter, silent logger). */
export function testDb(
  settings: Record<string, unknown> = {},
  options: DatabaseConnectionOptions = {},
  url = TEST_URL,
): DatabaseConnection {
  const u = new URL(url);
  return new DatabaseConnection({
    postgres: {
      host: u.hostname,
      port: Number(u.port || 5432),
      dbname: u.pathname.slice(1) || "test",
      user: decodeURIComponent(u.username || "postgres"),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      health_check_interval: 0,
      ...settings,
    },
  }, { driver: createDriver, logger: false, ...options });
}

/** A raw postgres.js client for looking at the server from outside (pg_stat_activity...). */
export function admin(url = TEST_URL): ReturnType<typeof postgres> {
  return postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 0, prepare: false });
}

/** Backends with `application_name = name`. */
export async function backends(sql: ReturnType<typeof postgres>, name: string): Promise<number> {
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;
  return n as number;
}

/** Polls `cond` every 10 ms until true or `ms` passes. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000, what = "condition"): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ends backend `pid` from the server's side (`pg_terminate_backend`), waiting until it has exited. */
export async function terminateBackend(pid: number, url = TEST_URL): Promise<void> {
  const sql = admin(url);
  try {
    await sql`SELECT pg_terminate_backend(${pid}::int, 5000)`;
  } finally {
    await sql.end();
  }
}
