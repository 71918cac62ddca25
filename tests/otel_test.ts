// @dewey/db/otel with the real OpenTelemetry SDK (in-memory exporters, AsyncLocalStorage context as on Node)
// against the local PostgreSQL: span names, attributes and parents, errors and timeouts, metric values.
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { Histogram } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { otel } from "../integrations/otel.ts";
import { PoolTimeoutError } from "../src/errors.ts";
import { appName, testDb } from "./helpers/db.ts";
import { histogramCount, inRequest, parentOf, point, recordingMeter, recordingTracer } from "./helpers/otel.ts";

const one = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one ${name} span in ${spans.map((s) => s.name).join(", ")}`);
  return found[0];
};
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

Deno.test("otel: a query is a CLIENT span under the caller's span, named by its summary, with the conventions' attributes", async () => {
  const { tracerProvider, spans } = recordingTracer();
  await using db = testDb({ application_name: appName("otel") }, { telemetry: otel({ tracerProvider }) });
  const request = await inRequest(tracerProvider, async () => {
    await db.query("SELECT relname FROM pg_class WHERE relname = $1", ["pg_type"]);
    await db.sql`SELECT 'literal' AS x, 42 AS n`;
  });
  const [first, second] = spans().filter((s) => s.kind === SpanKind.CLIENT && s.name.startsWith("SELECT"));
  assert.equal(first.name, "SELECT pg_class");
  assert.equal(parentOf(first), request);
  assert.deepEqual(first.attributes, {
    "db.system.name": "postgresql",
    "db.namespace": db.config.dbname,
    "server.address": db.config.hosts[0].host,
    "server.port": db.config.hosts[0].port,
    "db.query.summary": "SELECT pg_class",
    "db.operation.name": "SELECT",
    "db.collection.name": "pg_class",
    "db.query.text": "SELECT relname FROM pg_class WHERE relname = $1",
  });
  assert.equal(first.status.code, SpanStatusCode.UNSET);
  assert.equal(second.attributes["db.query.text"], "SELECT ? AS x, ? AS n", "literals sanitised without parameters");
  assert.equal(parentOf(second), request);
  // The pool opened on first use: that wait is a child of the first statement, the connect span is the caller's.
  const wait = one(spans(), "pool wait");
  assert.equal(parentOf(wait), idOf(first));
  const connect = one(spans(), "connect");
  assert.equal(parentOf(connect), request);
  assert.equal(connect.attributes["tls.established"], false);
  assert.equal(connect.attributes["network.peer.port"], db.config.hosts[0].port);
});

Deno.test("otel: a session is a transaction span over BEGIN, its statements, a savepoint span and COMMIT", async () => {
  const { tracerProvider, spans } = recordingTracer();
  await using db = testDb({ application_name: appName("otel") }, { telemetry: otel({ tracerProvider }) });
  await db.validateConnection();
  let inside: string | undefined;
  const request = await inRequest(tracerProvider, async () => {
    await db.getSession(async (session) => {
      // The callback runs in the transaction's context: the application's own spans nest under it.
      const own = tracerProvider.getTracer("app").startSpan("app work");
      own.end();
      inside = parentOf(own as unknown as ReadableSpan);
      await session.query("SELECT 1 AS a");
      await session.getSession(async (inner) => {
        await inner.query("SELECT $1::int AS b", [2]);
      });
      await db.query("SELECT 3 AS c"); // db.query inside the callback joins the session
    });
  });
  const tx = one(spans(), "transaction");
  assert.equal(parentOf(tx), request);
  assert.equal(tx.attributes["dewey.session.outcome"], "committed");
  assert.equal(inside, idOf(tx));
  const children = spans().filter((s) => parentOf(s) === idOf(tx) && s.name !== "app work").map((s) => s.name);
  assert.deepEqual(children, ["BEGIN", "SELECT", "savepoint", "SELECT", "COMMIT"]);
  const savepoint = one(spans(), "savepoint");
  assert.equal(savepoint.attributes["dewey.savepoint"], "dewey_sp_1_1");
  const inSavepoint = spans().filter((s) => parentOf(s) === idOf(savepoint)).map((s) => s.name);
  assert.deepEqual(inSavepoint, ["SAVEPOINT", "SELECT", "RELEASE"]);
  assert.equal(one(spans(), "BEGIN").attributes["db.operation.name"], "BEGIN");
});

Deno.test("otel: a failed statement and a failed transaction carry the SQLSTATE, redacted messages and no parameter", async () => {
  const { tracerProvider, spans } = recordingTracer();
  const password = "otel-s3cret-Pw";
  await using db = testDb({ application_name: appName("otel"), password }, {
    telemetry: otel({ tracerProvider, queryText: "raw" }),
  });
  await db.validateConnection();
  await assert.rejects(db.query("SELECT $1::int", [password]), { code: "22P02" });
  await assert.rejects(db.query(`SELECT '${password}'::int`), { code: "22P02" });
  await assert.rejects(
    db.getSession(async (s) => void await s.query("SELECT 1/0")),
    { code: "22012" },
  );
  const failed = spans().filter((s) => s.status.code === SpanStatusCode.ERROR);
  assert.deepEqual(failed.map((s) => s.name), ["SELECT", "SELECT", "SELECT", "transaction"]);
  for (const span of failed.slice(0, 2)) {
    assert.equal(span.attributes["error.type"], "22P02");
    assert.equal(span.attributes["db.response.status_code"], "22P02");
    assert.match(span.status.message!, /^22P02: invalid input syntax for type integer/);
  }
  assert.equal(failed[2].attributes["db.response.status_code"], "22012");
  assert.equal(failed[3].attributes["error.type"], "22012");
  assert.equal(failed[3].attributes["dewey.session.outcome"], "rolled back");
  assert.equal(one(spans(), "ROLLBACK").status.code, SpanStatusCode.UNSET);
  const everything = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.status, s.events]));
  assert.ok(!everything.includes(password), "the password shows nowhere, not even in raw query text or messages");
  assert.ok(everything.includes("SELECT '***'::int"), "raw text is kept, redacted");
});

Deno.test("otel: a statement timeout and a pool timeout, with the wait that led to it", async () => {
  const { tracerProvider, spans } = recordingTracer();
  await using db = testDb(
    { application_name: appName("otel"), pool_max: 1, pool_acquire_timeout: "200ms" },
    { telemetry: otel({ tracerProvider }) },
  );
  await assert.rejects(db.query("SELECT pg_sleep(5)", [], { timeout: 50 }), { code: "QUERY_TIMEOUT" });
  const timedOut = one(spans(), "SELECT");
  assert.equal(timedOut.attributes["error.type"], "QUERY_TIMEOUT");
  assert.equal(timedOut.attributes["db.response.status_code"], "57014", "cancelled on the server");
  assert.match(timedOut.status.message!, /statement timed out after 50 ms/);

  const held = await db.getSession();
  await assert.rejects(db.query("SELECT 1"), PoolTimeoutError);
  await held.rollback();
  const poolTimeout = spans().filter((s) => s.name === "SELECT").at(-1)!;
  assert.equal(poolTimeout.attributes["error.type"], "POOL_TIMEOUT");
  assert.equal(poolTimeout.attributes["db.response.status_code"], undefined, "no SQLSTATE: the server never saw it");
  const wait = spans().find((s) => s.name === "pool wait" && parentOf(s) === idOf(poolTimeout));
  assert.ok(wait, "the statement's wait for a connection is its child");
  assert.ok(wait.duration[0] * 1e3 + wait.duration[1] / 1e6 >= 150, "the wait lasted until the timeout");
});

Deno.test("otel: metrics after a known workload: 100 operations, 3 connections used, 1 timeout", async () => {
  const { meterProvider, collect } = recordingMeter();
  const name = appName("otelm");
  await using db = testDb(
    { application_name: name, pool_max: 3, pool_acquire_timeout: "300ms" },
    { telemetry: otel({ meterProvider, traces: false, poolName: name }) },
  );
  for (let i = 0; i < 100; i++) await db.query("SELECT $1::int AS i", [i]);
  const sessions = await Promise.all([1, 2, 3].map(() => db.getSession()));
  await assert.rejects(db.getSession(), PoolTimeoutError);

  let m = await collect();
  const pool = { "db.client.connection.pool.name": name };
  assert.equal(point(m.get("db.client.connection.count"), { ...pool, "db.client.connection.state": "used" }).value, 3);
  assert.equal(point(m.get("db.client.connection.count"), { ...pool, "db.client.connection.state": "idle" }).value, 0);
  assert.equal(point(m.get("db.client.connection.max"), pool).value, 3);
  assert.equal(point(m.get("db.client.connection.idle.min"), pool).value, db.config.pool_min);
  assert.equal(point(m.get("db.client.connection.pending_requests"), pool).value, 0);
  assert.equal(point(m.get("db.client.connection.timeouts"), pool).value, 1);

  for (const s of sessions) await s.commit();
  m = await collect();
  const duration = m.get("db.client.operation.duration");
  assert.equal(duration?.descriptor.unit, "s");
  assert.equal(histogramCount(duration, { "db.operation.name": "SELECT", "db.system.name": "postgresql" }), 100);
  assert.equal(histogramCount(duration, { "db.operation.name": "BEGIN" }), 3);
  assert.equal(histogramCount(duration, { "db.operation.name": "COMMIT" }), 3);
  assert.deepEqual(
    point<Histogram>(duration, { "db.operation.name": "SELECT" }).value.buckets.boundaries,
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
  );
  assert.equal(point(m.get("db.client.connection.count"), { ...pool, "db.client.connection.state": "idle" }).value, 3);
  assert.equal(histogramCount(m.get("db.client.connection.create_time"), pool), 3);
  assert.equal(histogramCount(m.get("db.client.connection.wait_time"), pool), 3, "one per checkout");
  assert.equal(histogramCount(m.get("db.client.connection.use_time"), pool), 3, "one per checkin");
  assert.equal(db.stats().timeouts, 1);
});

Deno.test("otel: with no SDK registered the hooks decline everything, and a closed database stops observing", async () => {
  await using db = testDb({ application_name: appName("otel") });
  const telemetry = otel().attach(db);
  assert.equal(telemetry.statement("SELECT 1", []), undefined);
  assert.equal(telemetry.session(1), undefined);
  assert.equal(telemetry.connect("db:5432"), undefined);
  telemetry.close();

  const { meterProvider, collect } = recordingMeter();
  const name = appName("otelc");
  const closing = testDb({ application_name: name }, { telemetry: otel({ meterProvider, poolName: name }) });
  await closing.query("SELECT 1");
  let reads = 0;
  const stats = closing.stats.bind(closing);
  closing.stats = () => (reads++, stats());
  await collect();
  assert.equal(reads, 1, "one read of the pool numbers per collection");
  await closing.close();
  await collect();
  assert.equal(reads, 1, "observers removed at close");
});
