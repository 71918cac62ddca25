// metricsHandler: the conventions' metrics in Prometheus text format 0.0.4, parsed by a real parser
// (parse-prometheus-text-format) and checked against db.stats(), with no OpenTelemetry setup.
// That parser folds the series of a labelled histogram into one (it keeps only `le`) and drops their
// `_count`: histogram types and buckets are checked on its output, per-series counts on the `_count` lines.
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { metricsHandler } from "../integrations/prometheus.ts";
import { PoolTimeoutError } from "../src/errors.ts";
import { appName, testDb } from "./helpers/db.ts";

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
}

let text = "";

async function scrape(handler: (req: Request) => Response): Promise<Map<string, Family>> {
  const res = handler(new Request("http://localhost/metrics"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  text = await res.text();
  const families = parsePrometheusTextFormat(text) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

const value = (f: Family | undefined, labels: Record<string, string> = {}) => {
  const m = f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(m, `${f?.name} ${JSON.stringify(labels)}`);
  return Number(m.value);
};

/** Sum of the `<name>_count` samples whose labels include `labels`. */
const count = (name: string, labels: Record<string, string> = {}) => {
  let n = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}_count{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) n += Number(line.split(" ").at(-1));
  }
  return n;
};

Deno.test("metricsHandler: pool gauges match db.stats(), statements and checkouts fill the histograms", async () => {
  const name = appName("prom");
  await using db = testDb({ application_name: name, pool_max: 2, pool_acquire_timeout: "150ms" });
  const metrics = metricsHandler(db, { poolName: name });
  const pool = { db_client_connection_pool_name: name };

  for (let i = 0; i < 25; i++) await db.query("SELECT $1::int AS i FROM pg_class LIMIT 1", [i]);
  await assert.rejects(db.query('SELECT "no such column"'), { code: "42703" });
  const a = await db.getSession();
  const b = await db.getSession();
  await assert.rejects(db.getSession(), PoolTimeoutError);

  let m = await scrape(metrics);
  const stats = db.stats();
  assert.equal(m.get("db_client_connection_count")?.type, "GAUGE");
  assert.equal(
    value(m.get("db_client_connection_count"), { ...pool, db_client_connection_state: "used" }),
    stats.inUse,
  );
  assert.equal(value(m.get("db_client_connection_count"), { ...pool, db_client_connection_state: "idle" }), stats.idle);
  assert.equal(stats.inUse, 2);
  assert.equal(value(m.get("db_client_connection_max"), pool), stats.max);
  assert.equal(value(m.get("db_client_connection_idle_min"), pool), stats.min);
  assert.equal(value(m.get("db_client_connection_pending_requests"), pool), stats.waiting);
  assert.equal(m.get("db_client_connection_timeouts_total")?.type, "COUNTER");
  assert.equal(value(m.get("db_client_connection_timeouts_total"), pool), stats.timeouts);
  assert.equal(stats.timeouts, 1);

  await a.commit();
  await b.rollback();
  m = await scrape(metrics);
  const duration = m.get("db_client_operation_duration_seconds");
  assert.equal(duration?.type, "HISTOGRAM");
  assert.deepEqual(
    new Set(Object.keys(m.get("db_client_connection_wait_time_seconds")!.metrics[0].buckets!)),
    new Set(["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "+Inf"]),
  );
  const op = "db_client_operation_duration_seconds";
  const selects = { db_system_name: "postgresql", db_operation_name: "SELECT", db_collection_name: "pg_class" };
  assert.equal(count(op, selects), 25);
  assert.equal(count(op, { error_type: "42703", db_response_status_code: "42703" }), 1);
  assert.equal(count(op, { db_operation_name: "BEGIN" }), 2);
  assert.equal(count(op, { db_operation_name: "COMMIT" }), 1);
  assert.equal(count(op, { db_operation_name: "ROLLBACK" }), 1);
  assert.equal(count(op), 30, "every statement, once");
  for (const [family, expected] of [["wait_time", 2], ["use_time", 2], ["create_time", db.stats().opened]] as const) {
    const h = m.get(`db_client_connection_${family}_seconds`);
    assert.equal(h?.type, "HISTOGRAM");
    assert.equal(Number(h!.metrics[0].buckets!["+Inf"]), expected, family); // one series: the parser keeps it
    assert.equal(count(`db_client_connection_${family}_seconds`, pool), expected, family);
  }
  assert.ok(!JSON.stringify([...m.values()]).includes("$1"), "no query text, only its summary");
});
