// A COMMIT whose answer never arrives: settled with txid_status() (verifyCommit) or reported in doubt.
import assert from "node:assert/strict";
import { DatabaseConnectionError } from "../src/errors.ts";
import { admin, TEST_URL, testDb } from "./helpers/db.ts";

const sql = admin();
const table = `dewey_settle_${Deno.pid}`;
await sql.unsafe(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int PRIMARY KEY)`);
const rows = async () => (await sql.unsafe(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id as number);

/**
 * A TCP proxy to the test database that, once armed, forwards the next COMMIT
 * to the server and then cuts the connection before the answer comes back:
 * the transaction commits, the client never hears it.
 */
function cuttingProxy() {
  const target = new URL(TEST_URL);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let armed = false;
  const commit = new TextEncoder().encode("COMMIT");
  const has = (buf: Uint8Array) => {
    outer: for (let i = 0; i + commit.length <= buf.length; i++) {
      for (let j = 0; j < commit.length; j++) if (buf[i + j] !== commit[j]) continue outer;
      return true;
    }
    return false;
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn, upstream: boolean, cut: () => boolean, onCommit: () => void) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null || cut()) break;
        const chunk = buf.subarray(0, n);
        await to.write(chunk);
        if (upstream && armed && has(chunk)) onCommit();
      }
    } catch { /* closed */ }
  };
  const accept = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: target.hostname, port: Number(target.port || 5432) });
      conns.add(client).add(server);
      let cutting = false;
      const cut = () => cutting;
      const onCommit = () => {
        armed = false;
        cutting = true; // drop the server's answer to COMMIT
        setTimeout(() => {
          for (const c of [client, server]) {
            try {
              c.close();
            } catch { /* already closed */ }
          }
        }, 100);
      };
      tasks.push(pump(client, server, true, cut, onCommit), pump(server, client, false, cut, onCommit));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    arm: () => armed = true,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accept.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

function proxiedDb(port: number) {
  return testDb({ host: "127.0.0.1", port, sslmode: "disable", prepare: false, pool_max: 2 });
}

Deno.test("verifyCommit: a COMMIT that committed but whose answer was lost is reported as success", async () => {
  const proxy = cuttingProxy();
  try {
    await using db = proxiedDb(proxy.port);
    await db.validateConnection();
    const value = await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${table} (id) VALUES (1)`);
      proxy.arm();
      return "done";
    }, { verifyCommit: true });
    assert.equal(value, "done");
    assert.deepEqual(await rows(), [1]);
  } finally {
    await proxy.close();
  }
});

Deno.test("without verifyCommit the same loss is a non-retryable in-doubt error, and the retry option never re-runs it", async () => {
  const proxy = cuttingProxy();
  try {
    await using db = proxiedDb(proxy.port);
    await db.validateConnection();
    let runs = 0;
    const err = await db.getSession(async (s) => {
      runs++;
      await s.query(`INSERT INTO ${table} (id) VALUES (2)`);
      proxy.arm();
    }, { verifyCommit: false, retry: 3 }).catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.inDoubt, true);
    assert.equal(err.retryable, false);
    assert.match(err.message, /may or may not have committed/);
    assert.equal(runs, 1, "an in-doubt COMMIT must not be re-run");
    assert.deepEqual(await rows(), [1, 2]);
  } finally {
    await proxy.close();
  }
});

Deno.test("verifyCommit: a COMMIT the server rolled back (backend killed at commit) is retryable, and retry re-runs it once", async () => {
  await sql.unsafe(`
    CREATE OR REPLACE FUNCTION ${table}_die() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id = 3 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
      RETURN NEW;
    END $$;
    CREATE CONSTRAINT TRIGGER ${table}_die AFTER INSERT ON ${table}
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${table}_die();`);
  try {
    await using db = testDb({ pool_max: 2 });
    const err = await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${table} (id) VALUES (3)`);
    }, { verifyCommit: true }).catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.retryable, true);
    assert.equal(err.inDoubt, false);
    assert.match(err.message, /rolled/);
    let runs = 0;
    await db.getSession(async (s) => {
      runs++;
      await s.query(`INSERT INTO ${table} (id) VALUES ($1)`, [runs === 1 ? 3 : 4]);
    }, { retry: 3 });
    assert.equal(runs, 2);
    assert.deepEqual(await rows(), [1, 2, 4]);
  } finally {
    await sql.unsafe(`DROP TRIGGER IF EXISTS ${table}_die ON ${table}`);
  }
});

Deno.test("teardown", async () => {
  await sql.unsafe(`DROP TABLE IF EXISTS ${table}; DROP FUNCTION IF EXISTS ${table}_die()`);
  await sql.end();
});
