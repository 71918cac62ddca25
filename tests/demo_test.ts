// `deno task demo` as a subprocess: on the embedded database when nothing is configured, on the local
// PostgreSQL through DATABASE_URL, and never on the embedded one when a configured server is down.
import assert from "node:assert/strict";
import { admin, TEST_URL } from "./helpers/db.ts";
import { freePort } from "./helpers/net.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BASE_ENV = Object.fromEntries(
  Object.entries(Deno.env.toObject()).filter(([k]) => !/^(DATABASE_URL|DEWEY_CONFIG|DB_|PG)/.test(k)),
);

async function demo(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { ...BASE_ENV, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  return { code, out, err: new TextDecoder().decode(stderr), lines: out.trimEnd().split("\n") };
}

/** The steps every run prints, whatever the database. */
function assertSteps(out: string): void {
  assert.match(out, /\ncommit {5}2 orders inserted, committed: 2 orders\n/);
  assert.match(out, /\nrollback {3}1 order inserted, then "payment declined": rolled back, still 2 orders\n/);
  assert.match(
    out,
    /\nsavepoint {2}outer insert kept, inner one failed \(23514 orders_qty_check\) and was rolled back alone: 3 orders\n/,
  );
  assert.match(out, /\nhealth {5}healthy, round trip [\d.]+ ms, PostgreSQL \d+/);
  assert.match(out, /\nclosed {5}schema dropped, 0 connections open, /);
}

Deno.test("demo: with nothing configured, `deno task demo` runs on the embedded PGlite and says so first", async () => {
  const run = await demo(["task", "demo"]);
  assert.equal(run.code, 0, run.out + run.err);
  assert.match(run.lines[0], /^@dewey\/db demo on the embedded PGlite database, in memory: no database is configured/);
  assert.match(run.lines[1], /^connected in [\d.]+ s: PostgreSQL 1[89]\./);
  assertSteps(run.out);
  assert.match(run.out, /\nhealth .*TLS off\n/);
  assert.match(run.out, /\npool {7}1 open \(1 idle, 0 in use\), min 1, max 1, 3 checkouts, 1 opened, 0 timeouts\n/);
});

Deno.test("demo: DATABASE_URL points it at the local PostgreSQL; its schema is gone afterwards", async () => {
  const run = await demo(["run", "-A", "examples/demo.ts"], { DATABASE_URL: TEST_URL });
  assert.equal(run.code, 0, run.out + run.err);
  assert.match(run.lines[0], /^@dewey\/db demo on postgres:\/\/\S+ \(settings from DATABASE_URL/);
  assert.doesNotMatch(run.out, /PGlite/);
  assertSteps(run.out);
  const schema = /\nschema {5}(dewey_demo_\d+)\.orders created\n/.exec(run.out)?.[1];
  assert.ok(schema, run.out);
  const sql = admin();
  try {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${schema}`;
    assert.equal(n, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("demo: a configured server that is down fails with a pointer to doctor, never falls back", async () => {
  const run = await demo(["run", "-A", "examples/demo.ts"], {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${freePort()}/test?connect_timeout=2`,
  });
  assert.equal(run.code, 1, run.out + run.err);
  assert.match(run.lines[0], /^@dewey\/db demo on postgres:\/\/postgres@127\.0\.0\.1:\d+\/test/);
  assert.doesNotMatch(run.out + run.err, /PGlite|embedded/);
  assert.match(run.err, /could not connect: .*ECONNREFUSED/);
  assert.match(run.err, /run `deno task doctor` to find out why/);
});
