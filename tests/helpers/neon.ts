/**
 * The local test database over the Neon adapter: each connection gets its own
 * in-process WebSocket-to-TCP proxy, closed with it, so tests stay sanitizer-clean.
 *
 * @module
 */

import { createDriver } from "../../adapters/neon.ts";
import { serveWsProxy, type WsProxy } from "../../adapters/wsproxy.ts";
import { DatabaseConnection as EdgeDatabaseConnection } from "../../edge.ts";
import { DatabaseConnection, type DatabaseConnectionOptions } from "../../mod.ts";
import { TEST_URL } from "./db.ts";
import { freePort } from "./net.ts";

/** The test database's address and credentials, from `TEST_URL`. */
export function testTarget(url = TEST_URL): { host: string; port: number; dbname: string; user: string } {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    dbname: u.pathname.slice(1) || "test",
    user: decodeURIComponent(u.username || "postgres"),
  };
}

/** `db`, which also stops `proxy` when closed. */
function closingProxy<T extends DatabaseConnection | EdgeDatabaseConnection>(
  db: T,
  proxy: WsProxy,
): T & { proxy: WsProxy } {
  const close = db.close.bind(db);
  return Object.assign(db, { proxy, close: () => close().finally(() => proxy.close()) });
}

/** The Neon adapter's configuration for the test database (or `url`) through `proxy`, with `settings` on top. */
function neonConfig(proxy: WsProxy, settings: Record<string, unknown>, url: string): Record<string, unknown> {
  return {
    postgres: { driver: "neon", ...testTarget(url), ws_proxy: proxy.wsProxy, health_check_interval: 0, ...settings },
  };
}

/**
 * A `DatabaseConnection` on the test database with the Neon adapter, through a
 * fresh proxy, with `settings` on top (silent logger, no health timer); `url`
 * names another server (a throwaway cluster).
 *
 * @example
 * ```ts ignore
 * await using db = neonDb({ pool_max: 2 });
 * await db.query("SELECT 1");
 * ```
 */
export function neonDb(
  settings: Record<string, unknown> = {},
  options: DatabaseConnectionOptions = {},
  url = TEST_URL,
): DatabaseConnection & { proxy: WsProxy } {
  const t = testTarget(url);
  const proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const db = new DatabaseConnection(neonConfig(proxy, settings, url), {
    driver: createDriver,
    logger: false,
    ...options,
  });
  return closingProxy(db, proxy);
}

/**
 * {@linkcode neonDb} on the edge entry (`@dewey/db/edge`): what a Worker or Deno Deploy application builds.
 *
 * @example
 * ```ts ignore
 * await using db = edgeNeonDb({ pool_max: 4 });
 * await db.query("SELECT 1");
 * ```
 */
export function edgeNeonDb(settings: Record<string, unknown> = {}): EdgeDatabaseConnection & { proxy: WsProxy } {
  const t = testTarget();
  const proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const db = new EdgeDatabaseConnection(neonConfig(proxy, settings, TEST_URL), { driver: createDriver, logger: false });
  return closingProxy(db, proxy);
}

/**
 * A `DatabaseConnection` with the Neon adapter pointed at a WebSocket proxy
 * that is not running (a free port), with `settings` on top; `proxy` is the
 * address errors should name.
 *
 * @example
 * ```ts ignore
 * const { db, proxy } = neonProxyDown({ pool_min: 1 });
 * await db.query("SELECT 1"); // rejects: PROXY_UNREACHABLE, naming `proxy`
 * ```
 */
export function neonProxyDown(settings: Record<string, unknown> = {}): { db: DatabaseConnection; proxy: string } {
  const proxy = `127.0.0.1:${freePort()}/v2`;
  const db = new DatabaseConnection({
    postgres: {
      driver: "neon",
      ...testTarget(),
      ws_proxy: proxy,
      health_check_interval: 0,
      ...settings,
    },
  }, { driver: createDriver, logger: false });
  return { db, proxy };
}
