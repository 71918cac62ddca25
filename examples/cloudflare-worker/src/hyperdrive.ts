/**
 * The same Worker on postgres.js over Cloudflare's TCP sockets (`cloudflare:sockets`),
 * for a database reached directly or through Hyperdrive. Needs `nodejs_compat`.
 *
 * The connection URL comes from the `HYPERDRIVE` binding when there is one,
 * else from `DATABASE_URL`.
 *
 * @module
 */

import { withDatabase } from "@dewey/db/edge";
import { createDriver } from "@dewey/db/edge/postgres";
import { route } from "./routes.ts";

export default {
  fetch: (request: Request, env: Record<string, unknown>, ctx: { waitUntil(p: Promise<unknown>): void }) =>
    withDatabase(env, ctx, (db) => route(request, db), {
      driver: createDriver,
      binding: env.HYPERDRIVE ? "HYPERDRIVE" : "DATABASE_URL",
    }),
};
