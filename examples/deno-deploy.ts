/**
 * A Deno Deploy handler on @dewey/db/edge: one module-level connection pool,
 * kept across requests, with a query route and `/healthz`.
 *
 * ```sh
 * DATABASE_URL='postgres://app:secret@ep-x.neon.tech/app?driver=neon&sslmode=require' deno serve -A examples/deno-deploy.ts
 * # locally, through the WebSocket proxy (`deno task wsproxy` in another terminal):
 * DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?driver=neon&ws_proxy=127.0.0.1:8080/v2' \
 *   deno serve --allow-net --allow-env examples/deno-deploy.ts
 * ```
 *
 * @module
 */

import { DatabaseConnection, healthHandler } from "@dewey/db/edge";

// Created once per isolate; connections open on first use and are reused by later requests.
const db = new DatabaseConnection(Deno.env.get("DATABASE_URL") ?? "", { env: Deno.env.toObject() });
const healthz = healthHandler(db);

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return await healthz(request);
    if (url.pathname === "/query") {
      const n = Number(url.searchParams.get("n") ?? 0);
      const [row] = await db.sql`SELECT ${n}::int + 1 AS next, pg_backend_pid() AS pid`;
      return Response.json(row);
    }
    return new Response("not found\n", { status: 404 });
  },
} satisfies Deno.ServeDefaultExport;
