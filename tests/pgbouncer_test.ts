// PgBouncer 1.18 (Debian's package) in transaction mode with SCRAM auth, in front of a throwaway cluster.
import assert from "node:assert/strict";
import { createDriver } from "../adapters/postgres.ts";
import { parseConfig } from "../src/config/parse.ts";
import { DatabaseConnection } from "../mod.ts";
import { ConfigError, DatabaseConnectionError } from "../src/errors.ts";
import { startCluster } from "./helpers/cluster.ts";
import { SCRAM_HBA, startPgBouncer } from "./helpers/pgbouncer.ts";

const PASSWORD = "bouncer-s3cret";

interface LoadReport {
  calls: number;
  errors: Error[];
  hangs: number;
  isolationLeaks: number;
  backends: Set<number>;
}

/**
 * `callers` concurrent loops for `ms`: parameterised autocommit queries of several shapes and short
 * serializable read-only transactions. A call still pending after `hangAfter` ms counts as a hang
 * (and ends its caller). Stops early once `stopOnFailure` and something went wrong.
 */
async function load(db: DatabaseConnection, callers: number, ms: number, hangAfter: number, stopOnFailure = false) {
  const report: LoadReport = { calls: 0, errors: [], hangs: 0, isolationLeaks: 0, backends: new Set() };
  const end = performance.now() + ms;
  const failed = () => stopOnFailure && (report.errors.length > 0 || report.hangs > 0);
  const call = async (caller: number, i: number) => {
    switch (i % 4) {
      case 0: {
        const { rows } = await db.query("SELECT $1::int AS n, pg_backend_pid() AS pid", [i]);
        assert.equal(rows[0].n, i);
        report.backends.add(rows[0].pid as number);
        break;
      }
      case 1: {
        const { rows } = await db.query("SELECT $1::text || $2::text AS s", [`c${caller}`, `-${i}`]);
        assert.equal(rows[0].s, `c${caller}-${i}`);
        break;
      }
      case 2: {
        // Serializable transactions run beside these; none of that may leak into autocommit statements.
        const { rows } = await db.query("SELECT current_setting('transaction_isolation') AS iso, $1::int AS n", [i]);
        if (rows[0].iso !== "read committed") report.isolationLeaks++;
        break;
      }
      case 3: {
        const n = await db.getSession(async (s) => {
          const { rows } = await s.query("SELECT current_setting('transaction_isolation') AS iso, $1::int + 1 AS n", [
            i,
          ]);
          assert.equal(rows[0].iso, "serializable");
          return rows[0].n;
        }, { isolation: "serializable", readOnly: true });
        assert.equal(n, i + 1);
        break;
      }
    }
  };
  const loop = async (caller: number) => {
    for (let i = caller; performance.now() < end && !failed(); i += callers) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<"hang">((resolve) => timer = setTimeout(() => resolve("hang"), hangAfter));
      try {
        const outcome = await Promise.race([call(caller, i).then(() => "ok" as const), hang]);
        if (outcome === "hang") {
          report.hangs++;
          return; // this caller is stuck; the others go on
        }
        report.calls++;
      } catch (error) {
        report.errors.push(error as Error);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => loop(c)));
  return report;
}

Deno.test("pgbouncer: configuration", async (t) => {
  await t.step("pgbouncer: true and pooler: transaction turn named prepared statements off", () => {
    const a = parseConfig({ postgres: { host: "h", pgbouncer: true } });
    assert.equal(a.pgbouncer, true);
    assert.equal(a.prepare, false);
    const b = parseConfig({ postgres: { host: "h", pooler: "transaction", prepare: true } });
    assert.equal(b.pgbouncer, true);
    assert.equal(b.prepare, false);
    assert.match(b.sources.prepare, /off because of pgbouncer/);
    assert.equal(parseConfig({ postgres: { host: "h", pooler: "session" } }).prepare, true);
  });

  await t.step("statement_timeout with pgbouncer is refused with a ConfigError naming the way out", async () => {
    await using db = new DatabaseConnection(
      { postgres: { host: "127.0.0.1", pgbouncer: true, statement_timeout: "5s", health_check_interval: 0 } },
      { driver: createDriver, logger: false },
    );
    const err = await db.validateConnection().catch((e) => e);
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.issues[0].path, "database.postgres.statement_timeout");
    assert.match(err.message, /PgBouncer rejects it in the startup packet/);
    assert.match(err.message, /ALTER ROLE/);
    // Without pgbouncer the same setting is sent in the startup packet as usual.
    await using direct = new DatabaseConnection(
      { postgres: { host: "127.0.0.1", dbname: "test", statement_timeout: "5s", health_check_interval: 0 } },
      { driver: createDriver, logger: false },
    );
    assert.deepEqual((await direct.query("SHOW statement_timeout")).rows, [{ statement_timeout: "5s" }]);
  });
});

Deno.test("pgbouncer: transaction pooling with SCRAM, 16 concurrent callers", async (t) => {
  await using pg = await startCluster({ password: PASSWORD, hba: [...SCRAM_HBA] });
  // Two server connections for up to 8 client connections: every client hops between server connections.
  await using bouncer = await startPgBouncer(pg, { poolSize: 2 });
  const base = {
    host: bouncer.host,
    port: bouncer.port,
    dbname: "postgres",
    user: "postgres",
    password: PASSWORD,
    pool_max: 8,
    health_check_interval: 0,
    close_timeout: "200ms",
  };

  await t.step("the adapter's startup packet passes (application_name included) and SCRAM works", async () => {
    await using db = new DatabaseConnection({ postgres: { ...base, pgbouncer: true, application_name: "dewey_pgb" } }, {
      driver: createDriver,
      logger: false,
    });
    const { rows } = await db.query("SELECT current_setting('application_name') AS app, current_user AS u");
    assert.deepEqual(rows, [{ app: "dewey_pgb", u: "postgres" }]);
  });

  await t.step("a per-query timeout (the way out for statement_timeout) cancels through PgBouncer", async () => {
    await using db = new DatabaseConnection({ postgres: { ...base, pgbouncer: true } }, {
      driver: createDriver,
      logger: false,
    });
    const t0 = performance.now();
    const err = await db.query("SELECT pg_sleep(5)", [], { timeout: 200 }).catch((e) => e);
    assert.equal(err.code, "QUERY_TIMEOUT", String(err));
    assert.equal(err.cause?.code, "57014", "cancelled on the server");
    assert.ok(performance.now() - t0 < 4000, "cancelled, not run to the end");
    assert.deepEqual((await db.query("SELECT $1::int AS n", [1], { timeout: 1000 })).rows, [{ n: 1 }]);
  });

  await t.step("a wrong password fails fast with a non-retryable DatabaseConnectionError", async () => {
    await using db = new DatabaseConnection({ postgres: { ...base, pgbouncer: true, password: "nope" } }, {
      driver: createDriver,
      logger: false,
    });
    const err = await db.validateConnection().catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.retryable, false);
    assert.ok(!err.message.includes("nope"));
  });

  await t.step("pgbouncer: true — several seconds of load, zero errors, zero hangs, no leaked state", async () => {
    await using db = new DatabaseConnection({ postgres: { ...base, pgbouncer: true } }, {
      driver: createDriver,
      logger: false,
    });
    const report = await load(db, 16, 3000, 5000);
    assert.deepEqual(report.errors.map((e) => e.message), []);
    assert.equal(report.hangs, 0);
    assert.equal(report.isolationLeaks, 0);
    assert.ok(report.calls > 16 * 10, `only ${report.calls} calls`);
    assert.ok(db.stats().opened > 2, "more client connections than server connections");
    assert.ok(report.backends.size <= 2, `backends seen: ${[...report.backends]}`);
  });

  await t.step("without it (named prepared statements) the same load fails or hangs", async () => {
    await using db = new DatabaseConnection({ postgres: { ...base, pgbouncer: false } }, {
      driver: createDriver,
      logger: false,
    });
    assert.equal(db.config.prepare, true);
    const report = await load(db, 16, 10_000, 2000, true);
    assert.ok(
      report.errors.length + report.hangs > 0,
      `${report.calls} calls without a failure: prepared statements did not break`,
    );
    console.log(
      `without pgbouncer: true: ${report.calls} calls ok, ${report.errors.length} errors (${
        [...new Set(report.errors.map((e) => (e as { code?: string }).code ?? e.name))].join(", ")
      }), ${report.hangs} hangs`,
    );
  });
});
