/**
 * The Worker example written directly on the Neon serverless driver, without
 * @dewey/db: the baseline of `bench/bundle_size.ts`. Same routes as
 * `examples/cloudflare-worker/src/routes.ts`; the configuration checks,
 * pooling, sessions, health snapshot and typed errors it lacks are what the
 * size difference buys.
 *
 * @module
 */

import { Client } from "@neondatabase/serverless";

interface Env {
  DATABASE_URL: string;
  WS_PROXY?: string;
}

export default {
  async fetch(request: Request, env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    const url = new URL(request.url);
    const client = new Client(env.DATABASE_URL);
    if (env.WS_PROXY) {
      const proxy = env.WS_PROXY;
      client.neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
      client.neonConfig.useSecureWebSocket = false;
      client.neonConfig.pipelineConnect = false;
    }
    await client.connect();
    try {
      switch (url.pathname) {
        case "/query": {
          const n = Number(url.searchParams.get("n") ?? 0);
          const { rows } = await client.query(
            "SELECT $1::int + 1 AS next, now() AS at, current_setting('application_name') AS app",
            [n],
          );
          return Response.json(rows[0]);
        }
        case "/visit": {
          if (request.method !== "POST") return new Response("POST only\n", { status: 405 });
          const path = url.searchParams.get("path") ?? "/";
          await client.query("BEGIN");
          try {
            const { rows: [{ n }] } = await client.query(
              "INSERT INTO visits (path, n) VALUES ($1, 1) ON CONFLICT (path) DO UPDATE SET n = visits.n + 1 RETURNING n",
              [path],
            );
            const { rows: [{ total }] } = await client.query("SELECT sum(n)::int8 AS total FROM visits");
            const { rows: [{ xid }] } = await client.query("SELECT pg_current_xact_id()::text AS xid");
            await client.query("COMMIT");
            return Response.json({ path, n: Number(n), total: Number(total), xid });
          } catch (error) {
            await client.query("ROLLBACK").catch(() => {});
            throw error;
          }
        }
        case "/healthz": {
          const started = Date.now();
          try {
            await client.query("SELECT 1");
            return Response.json({ status: "healthy", latencyMs: Date.now() - started });
          } catch (error) {
            return Response.json({ status: "unhealthy", lastError: String(error) }, { status: 503 });
          }
        }
        default:
          return new Response("not found\n", { status: 404 });
      }
    } finally {
      ctx.waitUntil(client.end());
    }
  },
};
