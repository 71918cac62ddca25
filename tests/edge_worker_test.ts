// examples/cloudflare-worker bundled as wrangler would and run in the real Workers runtime (workerd,
// through Miniflare): the Neon variant through the local WebSocket proxy, the postgres.js variant
// over cloudflare:sockets, both against the local PostgreSQL.
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { bundleWorker, wranglerConfig } from "../examples/cloudflare-worker/bundle.ts";
import { admin, backends, waitFor } from "./helpers/db.ts";
import { testTarget } from "./helpers/neon.ts";

const sql = admin();
await sql.unsafe("CREATE TABLE IF NOT EXISTS visits (path text PRIMARY KEY, n int8 NOT NULL)");
const wrangler = await wranglerConfig();
const neonWorker = await bundleWorker(wrangler.main);
const postgresWorker = await bundleWorker(wrangler.env!.hyperdrive.main!);
const t = testTarget();
let runs = 0;

/** Starts the bundle in workerd with `bindings`; `flags` default to wrangler.jsonc's. */
async function workerd(code: string, bindings: Record<string, string>, flags = wrangler.compatibility_flags ?? []) {
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: code }],
    compatibilityDate: wrangler.compatibility_date,
    compatibilityFlags: flags,
    bindings,
    cf: false,
  });
  await mf.ready;
  return {
    // Miniflare's undici Response types json() as unknown; the web Response type reads better here.
    fetch: (path: string, init?: RequestInit) =>
      mf.dispatchFetch(`http://worker.test${path}`, init as never) as unknown as Promise<Response>,
    [Symbol.asyncDispose]: () => mf.dispose(),
  };
}

/** The three routes, as a user would call them. */
async function exerciseRoutes(worker: Awaited<ReturnType<typeof workerd>>, app: string) {
  const q = await worker.fetch("/query?n=41");
  assert.equal(q.status, 200, await q.clone().text());
  const row = await q.json();
  assert.equal(row.next, 42);
  assert.equal(row.app, app);
  assert.ok(!Number.isNaN(Date.parse(row.at)));

  const path = `/page-${Deno.pid}-${++runs}`;
  const visits = [];
  for (let i = 0; i < 2; i++) {
    const v = await worker.fetch(`/visit?path=${encodeURIComponent(path)}`, { method: "POST" });
    assert.equal(v.status, 200, await v.clone().text());
    visits.push(await v.json());
  }
  assert.deepEqual(visits.map((v) => v.n), [1, 2]);
  assert.notEqual(visits[0].xid, visits[1].xid, "each request ran its own transaction");
  const [{ n }] = await sql`SELECT n FROM visits WHERE path = ${path}`;
  assert.equal(Number(n), 2, "the transactions committed");
  await sql`DELETE FROM visits WHERE path = ${path}`;

  const h = await worker.fetch("/healthz");
  assert.equal(h.status, 200);
  const health = await h.json();
  assert.equal(health.status, "healthy");
  assert.equal(health.pool.min, 0, "no pool_min on the edge");

  const missing = await worker.fetch("/nope");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  // withDatabase closed each request's connection through ctx.waitUntil.
  await waitFor(async () => await backends(sql, app) === 0, 5_000, "the per-request connections to close");
}

Deno.test("worker: the Neon variant runs in workerd through the WebSocket proxy", async () => {
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const app = `dewey_worker_neon_${Deno.pid}`;
  const url = `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?ws_proxy=${proxy.wsProxy}&application_name=${app}`;
  {
    // The Neon variant needs no nodejs_compat.
    await using worker = await workerd(neonWorker.code, { DATABASE_URL: url }, []);
    await exerciseRoutes(worker, app);
  }
  assert.equal(proxy.accepted, 4, "one WebSocket per request that touched the database (the 404 did not)");
  await waitFor(() => proxy.connections === 0, 5_000, "the proxy's connections to close");
});

Deno.test("worker: the postgres.js variant runs in workerd over cloudflare:sockets", async () => {
  const app = `dewey_worker_pg_${Deno.pid}`;
  const url =
    `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?driver=postgres&sslmode=disable&application_name=${app}`;
  await using worker = await workerd(postgresWorker.code, { DATABASE_URL: url });
  await exerciseRoutes(worker, app);
});

Deno.test("worker: a missing or invalid DATABASE_URL fails the request with the ConfigError, password hidden", async () => {
  await using worker = await workerd(neonWorker.code, { OTHER: "x" }, []);
  const none = await worker.fetch("/query");
  assert.equal(none.status, 500);
  assert.match(await none.text(), /ConfigError[\s\S]*no configuration: set the DATABASE_URL binding/);
  await using bad = await workerd(neonWorker.code, { DATABASE_URL: "postgres://u:hunter2@h/db?pool_max=lots" }, []);
  const res = await bad.fetch("/query");
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.match(text, /database\.postgres\.pool_max: expected an integer of at least 1, found "lots"/);
  assert.doesNotMatch(text, /hunter2/);
});

Deno.test("worker: the Neon bundle holds neither postgres.js, node:* modules nor YAML", () => {
  const inputs = Object.keys(neonWorker.inputs);
  assert.deepEqual(neonWorker.externals, []);
  assert.deepEqual(neonWorker.optionalExternals, ["node:async_hooks"], "tried at run time, for scoped sessions");
  assert.ok(inputs.some((i) => i.includes("@neondatabase/serverless")));
  for (
    const banned of [
      "/postgres/",
      "/yaml/",
      "postgres_socket",
      "config/load",
      "runtime_node",
      "connect_hosts",
      "replicas.ts",
      "zod/v4/classic",
    ]
  ) {
    assert.ok(!inputs.some((i) => i.includes(banned)), `${banned} is in the bundle`);
  }
  assert.ok([...postgresWorker.externals, ...postgresWorker.optionalExternals].includes("cloudflare:sockets"));
});

Deno.test("worker: a host list or read replicas fail the request with a ConfigError naming the key", async () => {
  await using worker = await workerd(neonWorker.code, {
    DATABASE_URL: "postgres://u@a.example:5432,b.example:5432/db?replicas=r.example",
  }, []);
  const res = await worker.fetch("/query");
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.match(text, /database\.postgres\.host: host lists are not in this entry point/);
  assert.match(text, /database\.postgres\.replicas: read replicas are not in this entry point/);
});

/** A Worker whose one route says whether `db.sql` inside a `getSession` callback joined the session. */
const SCOPED_WORKER = `
import { withDatabase } from "@dewey/db/edge";
export default {
  fetch: (request, env, ctx) =>
    withDatabase(env, ctx, async (db) =>
      Response.json(await db.getSession(async (tx) => {
        const [{ xid }] = await tx.sql\`SELECT pg_current_xact_id()::text AS xid\`;
        const [{ seen }] = await db.sql\`SELECT pg_current_xact_id_if_assigned()::text AS seen\`;
        return { xid, seen, scoped: db.currentSession() === tx };
      }))),
};`;

Deno.test("worker: scoped sessions with nodejs_als or nodejs_compat, unscoped (not failing) without", async () => {
  const entry = await Deno.makeTempFile({ suffix: ".js" });
  let code: string;
  try {
    await Deno.writeTextFile(entry, SCOPED_WORKER);
    code = (await bundleWorker(entry)).code;
  } finally {
    await Deno.remove(entry);
  }
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const env = { DATABASE_URL: `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?ws_proxy=${proxy.wsProxy}` };
  for (const flags of [["nodejs_als"], ["nodejs_compat"], []]) {
    await using worker = await workerd(code, env, flags);
    const res = await worker.fetch("/");
    assert.equal(res.status, 200, await res.clone().text());
    const { xid, seen, scoped } = await res.json();
    assert.ok(xid, "the session's transaction has an id");
    if (flags.length) {
      assert.equal(scoped, true, `${flags}: db.currentSession() is the session`);
      assert.equal(seen, xid, `${flags}: db.sql ran in the session's transaction`);
    } else {
      assert.equal(scoped, false, "no AsyncLocalStorage: the callback runs unscoped");
      assert.equal(seen, null, "db.sql ran outside the transaction, on a connection of its own");
    }
  }
  await waitFor(() => proxy.connections === 0, 5_000, "the proxy's connections to close");
});
