// Fault scenario 7 and health monitoring: db.health() and the /healthz handler through an outage on a
// password cluster (no secret in any event, log line or health body), schema version events, the
// periodic monitor, and timers that never keep a process alive.
import assert from "node:assert/strict";
import { createDriver } from "../adapters/postgres.ts";
import { DatabaseConnection } from "../mod.ts";
import type { DatabaseEventMap, DatabaseEventName } from "../src/events.ts";
import { healthHandler, type HealthSnapshot } from "../src/health.ts";
import { logfmt, type Logger } from "../src/logger.ts";
import { startCluster } from "./helpers/cluster.ts";
import { admin, testDb, waitFor } from "./helpers/db.ts";
import { FakeDriver } from "./helpers/fake_driver.ts";
import { recordEvents as record } from "./helpers/events.ts";
import { freePort } from "./helpers/net.ts";
import { assertNoLeak, sleep } from "./_faults.ts";

function details<K extends DatabaseEventName>(
  events: { type: DatabaseEventName; detail: unknown }[],
  type: K,
): DatabaseEventMap[K][] {
  return events.filter((e) => e.type === type).map((e) => e.detail as DatabaseEventMap[K]);
}

Deno.test("health through an outage: healthy/200, unhealthy/503 while down, healthy/200 after; no secret anywhere", async () => {
  const PW = "pw-Health-7f3a!x";
  await using pg = await startCluster({
    password: PW,
    hba: ["local all all trust", "host all all 127.0.0.1/32 scram-sha-256"],
  });
  const sql = admin(pg.url("postgres", "postgres", PW));
  await sql`CREATE TABLE schema_migrations (version int NOT NULL)`;
  await sql`INSERT INTO schema_migrations VALUES (1)`;
  await sql.end();

  const lines: string[] = [];
  const log = (level: string) => (m: string, f?: Record<string, unknown>) => {
    lines.push(`${level} ${m} ${f ? logfmt(f) : ""}`); // what the default logger prints
    lines.push(JSON.stringify(f ?? {})); // what a replacement logger receives
  };
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const db = new DatabaseConnection({
    postgres: {
      host: pg.host,
      port: pg.port,
      dbname: "postgres",
      user: "postgres",
      password: PW,
      pool_min: 1,
      pool_max: 2,
      pool_acquire_timeout: "300ms",
      connect_timeout: "1s",
      health_check_interval: "100ms",
      leak_detection_threshold: "50ms",
      schema_version_query: "SELECT max(version) FROM schema_migrations",
    },
  }, { driver: createDriver, logger, logLevel: "debug" });
  const events = record(db);
  const bodies: string[] = [];
  const healthz = healthHandler(db);
  const probe = async () => {
    const res = await healthz(new Request("http://localhost/healthz"));
    const text = await res.text();
    bodies.push(text);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("cache-control"), "no-store");
    return { code: res.status, body: JSON.parse(text) as HealthSnapshot };
  };

  try {
    await db.validateConnection();
    const up = await db.health();
    assert.equal(up.status, "healthy");
    assert.match(up.serverVersion ?? "", /^\d+\.\d+/);
    assert.deepEqual(up.tls, { enabled: false });
    assert.ok(typeof up.latencyMs === "number" && up.latencyMs >= 0);
    assert.ok(Date.parse(up.checkedAt ?? "") > 0);
    assert.equal(up.consecutiveFailures, 0);
    assert.equal(up.schemaVersion, 1);
    assert.ok(up.pool.total >= 1 && up.pool.max === 2);
    assert.equal((await probe()).code, 200);

    // A migration bumps the version: the periodic monitor notices it by itself.
    await db.query("INSERT INTO schema_migrations VALUES (2)");
    await waitFor(() => details(events, "schema-version").length > 0, 3000, "schema-version event");
    assert.deepEqual(details(events, "schema-version"), [{ previous: 1, current: 2 }]);

    // Events with something to say: a lease held past the leak threshold, a caller waiting on pool_max.
    await Promise.all(Array.from({ length: 3 }, () => db.getSession(() => sleep(120))));
    assert.ok(details(events, "leak-suspected").some((d) => d.heldMs >= 50 && /checked out here/.test(d.stack ?? "")));
    assert.ok(details(events, "pool-exhausted").length > 0);

    await pg.stop("fast");
    const t0 = performance.now();
    const down = await db.health();
    assert.ok(performance.now() - t0 < 3000, "health() answers promptly while the server is down");
    assert.equal(down.status, "unhealthy");
    assert.ok(down.consecutiveFailures >= 1);
    assert.match(down.lastError ?? "", /ECONNREFUSED|closed|connect/i);
    assert.ok(Date.parse(down.downSince ?? "") > 0);
    const probeDown = await probe();
    assert.equal(probeDown.code, 503);
    assert.equal(probeDown.body.status, "unhealthy");
    await waitFor(() => details(events, "health-change").some((d) => d.status === "unhealthy"), 3000, "unhealthy");

    await pg.start();
    await waitFor(async () => (await db.health()).status === "healthy", 10_000, "healthy again");
    const back = await probe();
    assert.equal(back.code, 200);
    assert.equal(back.body.status, "healthy");
    assert.equal(back.body.downSince, undefined);
    assert.equal(back.body.consecutiveFailures, 0);
    assert.ok(details(events, "reconnected").length > 0);
    const changes = details(events, "health-change").map((d) => d.status);
    assert.equal(changes.at(-1), "healthy");
    assert.ok(changes.includes("unhealthy"));
    const check = admin(pg.url("postgres", "postgres", PW));
    try {
      await assertNoLeak(db, check, "dewey");
    } finally {
      await check.end();
    }
  } finally {
    await db.close();
  }
  const closed = await probe();
  assert.equal(closed.code, 503, "a closed database is not healthy");

  const seen = [
    ...events.map((e) => JSON.stringify(e.detail)),
    ...lines,
    ...bodies,
    JSON.stringify(db.config),
    String(db),
  ];
  assert.ok(lines.length > 20 && events.length > 20, `${lines.length} lines, ${events.length} events`);
  for (const text of seen) assert.ok(!text.includes(PW), `a secret leaked: ${text}`);
  // The same with an unmasked URL in play: a wrong password must not come back in any message either.
  const wrong = "wrong-pw-Zq81";
  const failed = new DatabaseConnection(pg.url("postgres", "postgres", wrong), {
    driver: createDriver,
    logger,
    logLevel: "debug",
  });
  const failedEvents = record(failed);
  const err = await failed.validateConnection().catch((e) => e);
  await failed.close();
  assert.match(String(err), /password authentication failed/);
  const all = [String(err), err.stack, ...failedEvents.map((e) => JSON.stringify(e.detail)), ...lines];
  for (const text of all) assert.ok(!text.includes(wrong) && !text.includes(PW), `a secret leaked: ${text}`);
});

Deno.test("health is degraded (still 200) while callers wait for a connection", async () => {
  await using db = testDb({ pool_max: 1, pool_acquire_timeout: "2s" });
  const held = await db.engine.connect();
  const waiting = db.getSession((s) => s.query("SELECT 1"));
  await waitFor(() => db.stats().waiting === 1, 2000, "a waiter");
  const res = await healthHandler(db)(new Request("http://localhost/healthz"));
  const body = await res.json() as HealthSnapshot;
  assert.equal(res.status, 200);
  assert.equal(body.status, "degraded");
  assert.equal(body.pool.waiting, 1);
  await held.release();
  await waiting;
  assert.equal((await db.health()).status, "healthy");
});

Deno.test("the /healthz handler answers 503 within its timeout when a check hangs", async () => {
  const slow = { health: () => new Promise<HealthSnapshot>((r) => setTimeout(() => r({} as HealthSnapshot), 400)) };
  const t0 = performance.now();
  const res = await healthHandler(slow, { timeout: 50 })(new Request("http://localhost/healthz"));
  assert.equal(res.status, 503);
  assert.match((await res.json()).lastError, /took longer than 50 ms/);
  assert.ok(performance.now() - t0 < 350);
  await sleep(400); // let the slow check finish inside this test
});

Deno.test("the periodic check runs every health_check_interval, is off with 0, and stops on close()", async () => {
  const on = testDb({ health_check_interval: "40ms" });
  const off = testDb({ health_check_interval: 0 });
  await Promise.all([on.validateConnection(), off.validateConnection()]);
  const first = [(await on.health({ cached: true })).checkedAt, (await off.health({ cached: true })).checkedAt];
  await sleep(150);
  assert.notEqual((await on.health({ cached: true })).checkedAt, first[0], "checked again by itself");
  assert.equal((await off.health({ cached: true })).checkedAt, first[1], "interval 0: no periodic check");
  await on.close();
  await off.close();
  // Deno's sanitizers fail this test if the monitor's interval or any pool timer outlived close().
});

Deno.test("periodic validation pings idle connections and replaces the dead ones", async () => {
  const driver = new FakeDriver();
  const db = new DatabaseConnection(
    { postgres: { host: "fake", pool_min: 2, health_check_interval: "30ms" } },
    { driver, logger: false },
  );
  const failed: DatabaseEventMap["validation-failed"][] = [];
  const closed: string[] = [];
  db.on("validation-failed", (e) => failed.push(e.detail));
  db.on("disconnect", (e) => closed.push(e.detail.reason));
  await db.validateConnection();
  await waitFor(() => db.stats().total === 2, 2000, "pool_min");
  // Both connections now fail their ping, as a half-open link would, without any close notification.
  driver.failures.push({ match: /^SELECT 1$/, code: "08006", connection: true });
  await waitFor(() => failed.length >= 2, 2000, "validation-failed");
  driver.failures.length = 0;
  await waitFor(() => db.stats().total === 2 && driver.open.size === 2, 2000, "replaced");
  assert.ok(closed.filter((r) => r === "validation" || r === "error").length >= 2, closed.join());
  assert.ok(failed.every((f) => /08006|connection lost/.test(f.error)));
  assert.equal((await db.health()).status, "healthy");
  await db.close();
  assert.equal(driver.open.size, 0);
});

Deno.test("timers never keep a process alive: a pool retrying an unreachable server lets the process exit", async () => {
  const port = freePort();
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `
    import { DatabaseConnection } from ${JSON.stringify(mod)};
    const db = new DatabaseConnection({ postgres: { host: "127.0.0.1", port: ${port}, pool_min: 2,
      health_check_interval: "50ms", pool_max_lifetime: "1s", pool_idle_timeout: "1s" } }, { logger: false });
    const h = await db.health();
    console.log("status", h.status);
    // No close(): only the pool's and the monitor's timers remain, and they must not hold the process.
  `;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/main.ts`, script);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, `${dir}/main.ts`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const out = await child.output();
    clearTimeout(kill);
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /status unhealthy/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
