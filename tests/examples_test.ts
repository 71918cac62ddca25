// examples/basic.ts and examples/session.ts run end to end against the local PostgreSQL, as a user would run them.
import assert from "node:assert/strict";
import { admin, TEST_URL } from "./helpers/db.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BASE_ENV = Object.fromEntries(
  Object.entries(Deno.env.toObject()).filter(([k]) => !/^(DATABASE_URL|DEWEY_CONFIG|DB_|PG)/.test(k)),
);

async function example(file: string): Promise<{ code: number; out: string; err: string; pid: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", file],
    cwd: ROOT,
    env: { ...BASE_ENV, NO_COLOR: "1", DATABASE_URL: TEST_URL },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr), pid: child.pid };
}

Deno.test("examples/basic.ts: query, sql tag, engine.connect, errors, close", async () => {
  const run = await example("examples/basic.ts");
  assert.equal(run.code, 0, run.out + run.err);
  assert.equal(run.err, "");
  assert.deepEqual(run.out.trimEnd().split("\n").map((l) => l.replace(/postgres:\/\/\S+/, "URL")), [
    "connected to URL",
    "SELECT $1::int -> 1",
    "db.sql -> id 1, at is a Date",
    "INSERT 2",
    'users where id = 1: [ { id: 1, name: "ada" } ]',
    "duplicate key -> QueryError 23505 on users_pkey",
    "validateConnection() ok",
    "nothing listening -> DatabaseConnectionError ECONNREFUSED, retryable: true",
  ]);
});

Deno.test("examples/session.ts: commit, rollback, savepoint, await using, scoped helpers, dbManager", async () => {
  const run = await example("examples/session.ts");
  assert.equal(run.code, 0, run.out + run.err);
  assert.equal(run.err, "");
  const lines = run.out.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.replace(/example_accounts_\d+/g, "T")), [
    "inside the transaction, account 1 has 70",
    'savepoint rolled back: 23514 new row for relation "T" violates check constraint "T_balance_check"',
    "committed: account 1 has 70, account 2 has 30",
    "rolled back (changed my mind): account 1 has 70",
    "serializable read-only session: total 100",
    "uncommitted DELETE discarded: 2 accounts remain",
    "dbManager.getSession -> total 100",
  ]);
  const sql = admin();
  try {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_class WHERE relname = ${`example_accounts_${run.pid}`}`;
    assert.equal(n, 0, "the example drops its table");
  } finally {
    await sql.end();
  }
});
