/**
 * The routes both Worker variants serve, on a `DatabaseConnection` made for the request.
 *
 * - `GET /query?n=41`: one parameterised query.
 * - `POST /visit?path=/home`: a transaction (upsert a counter, read it back on the same connection).
 * - `GET /healthz`: the health snapshot as JSON (503 when the database does not answer).
 *
 * The transaction route expects `CREATE TABLE visits (path text PRIMARY KEY, n int8 NOT NULL)`.
 *
 * @module
 */

import { type DatabaseConnection, healthHandler } from "@dewey/db/edge";

/**
 * Answers one request.
 *
 * @example
 * ```ts ignore
 * withDatabase(env, ctx, (db) => route(request, db));
 * ```
 */
export async function route(request: Request, db: DatabaseConnection): Promise<Response> {
  const url = new URL(request.url);
  switch (url.pathname) {
    case "/query": {
      const n = Number(url.searchParams.get("n") ?? 0);
      const [row] = await db.sql`SELECT ${n}::int + 1 AS next, now() AS at, current_setting('application_name') AS app`;
      return Response.json(row);
    }
    case "/visit": {
      if (request.method !== "POST") return new Response("POST only\n", { status: 405 });
      const path = url.searchParams.get("path") ?? "/";
      const visit = await db.getSession(async (tx) => {
        const [{ n }] = await tx.sql<{ n: string }>`
          INSERT INTO visits (path, n) VALUES (${path}, 1)
          ON CONFLICT (path) DO UPDATE SET n = visits.n + 1 RETURNING n`;
        const [{ total }] = await tx.sql<{ total: string }>`SELECT sum(n)::int8 AS total FROM visits`;
        const [{ xid }] = await tx.sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`;
        return { path, n: Number(n), total: Number(total), xid };
      });
      return Response.json(visit);
    }
    case "/healthz":
      return await healthHandler(db)(request);
    default:
      return new Response("not found\n", { status: 404 });
  }
}
