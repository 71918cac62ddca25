/**
 * `deno task demo`: @dewey/db end to end in a few seconds.
 *
 * Connects to the configured database (`DATABASE_URL`, `$DEWEY_CONFIG`, or
 * `config/dewey.yaml` when `DB_HOST` or `PGHOST` is set), or, when none is
 * configured, to the embedded PGlite database in memory, and says which on
 * its first line. Then creates a small schema, commits a transaction, rolls
 * one back, shows a savepoint rolled back alone, prints the health snapshot
 * and pool numbers, drops the schema and closes.
 *
 * ```sh
 * deno task demo                                                   # embedded, nothing to install
 * DATABASE_URL=postgres://127.0.0.1:5432/test deno task demo       # your PostgreSQL
 * ```
 *
 * @module
 */

import { type DatabaseConfig, DatabaseConnectionError, getConnection, loadConfig, parseConfig } from "../mod.ts";

/** Variables that mean "a database is configured"; without any of them the demo runs on the embedded database. */
const CONFIGURED_BY = ["DATABASE_URL", "DEWEY_CONFIG", "DB_HOST", "PGHOST"] as const;

const t0 = performance.now();
const setBy = CONFIGURED_BY.find((name) => Deno.env.get(name));
let config: DatabaseConfig;
if (setBy) {
  config = await loadConfig();
  console.log(`@dewey/db demo on ${config} (settings from ${origins(config).join(", ")})`);
} else {
  // PGlite's first start runs initdb (~3.5 s, longer on a busy machine): give it time.
  config = parseConfig({ postgres: { driver: "pglite", connect_timeout: "60s" } });
  console.log(
    `@dewey/db demo on the embedded PGlite database, in memory: no database is configured ` +
      `(set ${CONFIGURED_BY.join(", ")} to use yours)`,
  );
}

const db = await getConnection(config).catch((error) => {
  if (!(error instanceof DatabaseConnectionError)) throw error;
  console.error(`could not connect: ${error.message}\nrun \`deno task doctor\` to find out why`);
  Deno.exit(1);
});
const connected = await db.health();
console.log(`connected in ${seconds(performance.now() - t0)}: PostgreSQL ${connected.serverVersion}`);

// A schema of its own per run, so demos side by side never collide.
const schema = `dewey_demo_${Deno.pid}`;
const orders = `${schema}.orders`;
const count = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${orders}`)).rows[0].n;
const step = (name: string, what: string) => console.log(`${name.padEnd(10)} ${what}`);

try {
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(
    `CREATE TABLE ${orders} (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL CHECK (qty > 0))`,
  );
  step("schema", `${orders} created`);

  await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${orders} (item, qty) VALUES ($1, $2), ($3, $4)`, ["tea", 2, "scones", 6]);
  });
  step("commit", `2 orders inserted, committed: ${await count()} orders`);

  const declined = await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${orders} (item, qty) VALUES ($1, $2)`, ["cake", 1]);
    throw new Error("payment declined");
  }).catch((e: Error) => e.message);
  step("rollback", `1 order inserted, then "${declined}": rolled back, still ${await count()} orders`);

  let inner = "";
  await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${orders} (item, qty) VALUES ($1, $2)`, ["jam", 1]);
    await s.getSession(async (nested) => {
      await nested.query(`INSERT INTO ${orders} (item, qty) VALUES ($1, $2)`, ["cream", 0]); // violates the CHECK
    }).catch((e) => inner = `${e.code} ${e.constraint ?? e.message}`);
  });
  step(
    "savepoint",
    `outer insert kept, inner one failed (${inner}) and was rolled back alone: ${await count()} orders`,
  );

  const h = await db.health();
  const tls = h.tls === undefined ? "unknown" : h.tls.enabled ? `${h.tls.protocol ?? "on"}` : "off";
  step("health", `${h.status}, round trip ${h.latencyMs?.toFixed(2)} ms, PostgreSQL ${h.serverVersion}, TLS ${tls}`);
  const p = db.stats();
  step(
    "pool",
    `${p.total} open (${p.idle} idle, ${p.inUse} in use), min ${p.min}, max ${p.max}, ` +
      `${p.checkouts} checkouts, ${p.opened} opened, ${p.timeouts} timeouts`,
  );
} finally {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.close();
}
step("closed", `schema dropped, ${db.stats().total} connections open, ${seconds(performance.now() - t0)} in all`);

/** Where the settings came from: `DATABASE_URL`, `config/dewey.yaml`, `PGHOST`... (defaults left out). */
function origins(config: DatabaseConfig): string[] {
  const found = new Set<string>();
  for (const source of Object.values(config.sources)) {
    if (source.startsWith("default")) continue;
    found.add(/([^\s(]+):\d+\)?$/.exec(source)?.[1] ?? source);
  }
  return [...found];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
