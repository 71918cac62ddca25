// The edge entry (@dewey/db/edge): what it pulls in, withDatabase's per-request lifecycle, and the
// lazy `neon` driver name in @dewey/db.
import assert from "node:assert/strict";
import { bundleWorker } from "../examples/cloudflare-worker/bundle.ts";
import { ConfigError, type DatabaseConnection, withDatabase, workerConfig } from "../edge.ts";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { testTarget } from "./helpers/neon.ts";

const t = testTarget();

/** A Workers ExecutionContext that records what it was asked to wait for. */
function context() {
  const pending: Promise<unknown>[] = [];
  return { pending, waitUntil: (p: Promise<unknown>) => void pending.push(p) };
}

Deno.test("edge entry: the whole @dewey/db/edge module bundles without node:*, postgres.js, YAML or zod classic", async () => {
  const bundle = await bundleWorker("../../edge.ts");
  assert.deepEqual(bundle.externals, []);
  assert.deepEqual(bundle.optionalExternals, ["node:async_hooks"], "imported at run time where the runtime has it");
  const inputs = Object.keys(bundle.inputs);
  for (
    const banned of [
      "/postgres@",
      "/yaml@",
      "adapters/postgres",
      "adapters/runtime_node",
      "src/connect_hosts",
      "src/replicas",
      "config/load",
      "zod/v4/classic",
    ]
  ) {
    assert.ok(!inputs.some((i) => i.includes(banned)), `${banned} is in the bundle`);
  }
  assert.ok(inputs.some((i) => i.includes("/zod@") && i.includes("/mini/")), "the config is validated with zod/mini");
  assert.ok(inputs.some((i) => i.includes("@neondatabase/serverless")));
});

Deno.test("withDatabase: runs fn on a fresh connection and closes it through ctx.waitUntil", async () => {
  await using proxy = serveWsProxy({ target: { host: t.host, port: t.port }, port: 0 });
  const env = { DATABASE_URL: `postgres://${t.user}@${t.host}:${t.port}/${t.dbname}?ws_proxy=${proxy.wsProxy}` };
  const ctx = context();
  let seen: DatabaseConnection | undefined;
  const rows = await withDatabase(env, ctx, async (db) => {
    seen = db;
    return await db.sql`SELECT 1 AS one`;
  }, { logger: false });
  assert.deepEqual(rows, [{ one: 1 }]);
  assert.equal(ctx.pending.length, 1, "the close was handed to waitUntil");
  assert.equal(seen!.config.driver, "neon", "driver defaults to neon on the edge");
  await Promise.all(ctx.pending);
  assert.equal(seen!.stats().total, 0);
  assert.equal(proxy.accepted, 1);
  const after = await seen!.query("SELECT 1").catch((e) => e);
  assert.equal(after.code, "POOL_CLOSED");

  const failing = context();
  await assert.rejects(
    withDatabase(env, failing, async (db) => void await db.query("SELECT 1/0"), { logger: false }),
    (e: { code?: string }) => e.code === "22012",
  );
  assert.equal(failing.pending.length, 1, "closed also when fn throws");
  await Promise.all(failing.pending);
});

Deno.test("workerConfig: per-request settings win, a Hyperdrive binding works, the result is cached per env", () => {
  const env = {
    DATABASE_URL: "postgres://app@db.example.com/shop?pool_min=5&health_check_interval=30s&pool_max=4",
    KV: { get() {} },
  };
  const config = workerConfig(env);
  assert.equal(config.pool_min, 0);
  assert.equal(config.health_check_interval, 0);
  assert.equal(config.pool_idle_timeout, 0);
  assert.equal(config.pool_max_lifetime, 0);
  assert.equal(config.pool_max, 4, "other settings are the user's");
  assert.equal(config.sources.pool_min, "withDatabase (per request)");
  assert.equal(config.sources.host, "env DATABASE_URL");
  assert.equal(workerConfig(env), config, "cached for the same env object");

  const hyperdrive = workerConfig({ HYPERDRIVE: { connectionString: "postgres://u:pw@hd.local:5432/db" } }, {
    binding: "HYPERDRIVE",
  });
  assert.equal(hyperdrive.host, "hd.local");
  assert.equal(String(hyperdrive), "postgres://u:***@hd.local:5432/db?driver=neon");

  const object = workerConfig({ DB_HOST: "from-env" }, {
    config: { postgres: { host: "${DB_HOST}", driver: "postgres" } },
  });
  assert.equal(object.host, "from-env");
  assert.equal(object.driver, "postgres");
  assert.equal(object.sources.host, "env DB_HOST (object)");

  assert.throws(
    () => workerConfig({}),
    (e: ConfigError) => e instanceof ConfigError && /DATABASE_URL binding/.test(e.message),
  );
  assert.throws(
    () => workerConfig({ DATABASE_URL: "postgres://u:hunter2@h/db?pool_max=0" }),
    (e: ConfigError) => e.issues[0].path === "database.postgres.pool_max" && !e.message.includes("hunter2"),
  );
});

Deno.test("withDatabase: driver=postgres without @dewey/db/edge/postgres is a clear ConfigError", async () => {
  const ctx = context();
  const err = await withDatabase(
    { DATABASE_URL: "postgres://u@127.0.0.1:1/db?driver=postgres" },
    ctx,
    (db) => db.query("SELECT 1"),
    { logger: false },
  ).catch((e) => e);
  await Promise.all(ctx.pending);
  assert.ok(err instanceof ConfigError, String(err));
  assert.match(err.message, /no adapter for driver "postgres"/);
});
