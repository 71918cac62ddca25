/**
 * A Cloudflare Worker on PostgreSQL through the Neon serverless driver (WebSocket).
 *
 * `DATABASE_URL` (a var or secret) names the database, for example
 * `postgres://app:secret@ep-x.neon.tech/app?sslmode=require`; locally, through
 * `deno task wsproxy`: `postgres://postgres@127.0.0.1:5432/test?ws_proxy=127.0.0.1:8080/v2`.
 *
 * @module
 */

import { withDatabase } from "@dewey/db/edge";
import { route } from "./routes.ts";

export default {
  fetch: (request: Request, env: Record<string, unknown>, ctx: { waitUntil(p: Promise<unknown>): void }) =>
    withDatabase(env, ctx, (db) => route(request, db)),
};
