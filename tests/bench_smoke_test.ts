// The benchmark suite must not rot: `bench/main.ts --quick --json` runs every scenario with tiny counts
// against the local database, and the statistics it relies on are checked on known inputs.
// No timing is asserted here: performance targets live in the bench's table, never in tests.
import assert from "node:assert/strict";
import type { BenchReport } from "../bench/main.ts";
import { interleave, median, pairedMedian, quantile, summarise, target } from "../bench/stats.ts";
import { num, renderTable } from "../bench/table.ts";

Deno.test("bench stats: quantiles, medians, paired ratios and rotation of the interleaving", async () => {
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const order: string[] = [];
  const contender = (name: string, values: number[]) => ({
    name,
    round: () => {
      order.push(name);
      return Promise.resolve({ value: values.shift()!, extra: { p99: 1 } });
    },
  });
  const samples = await interleave([contender("A", [0, 20, 40]), contender("B", [10, 10, 20])], {
    rounds: 2,
    warmup: 1,
  });
  assert.deepEqual(order, ["A", "B", "B", "A", "A", "B"]);
  const [a, b] = summarise(samples, "B");
  assert.deepEqual(a.samples, [20, 40]); // the warm-up round is dropped
  assert.equal(a.ratio, 2); // per-round ratios 2 and 2
  assert.equal(b.ratio, 1);
  assert.deepEqual(a.extra, { p99: 1 });
  assert.equal(pairedMedian(samples, "A", "B", (x, y) => x - y), 15);
  assert.equal(target("t", 1.5, ">=", 1.3, "").pass, true);
  assert.equal(target("t", NaN, "<=", 1, "").pass, false);
  assert.equal(num(52_345), "52.3k");
});

Deno.test("bench --quick --json runs every scenario and reports well-formed numbers", async () => {
  const root = new URL("../", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config=deno.dev.json", "bench/main.ts", "--quick", "--json"],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bench exited ${out.code}:\n${stderr.slice(-3000)}`);
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as BenchReport;
  assert.equal(report.meta.mode, "quick");
  const ids = report.scenarios.map((s) => s.id);
  assert.deepEqual(ids, [
    "fake-pool",
    "latency",
    "throughput",
    "otel-overhead",
    "pk-read",
    "ceiling",
    "transaction",
    "kysely-pk-read",
    "kysely-transaction",
    "drizzle-pk-read",
    "drizzle-transaction",
    "cursor-1m",
    "copy-in-1m",
    "notify-latency",
    "cold-start",
    "cold-start-node",
    "memory",
    "recovery",
    "bundle",
    "install",
  ]);
  for (const s of report.scenarios) {
    assert.equal(s.error, undefined, `${s.id}: ${s.error}`);
    if (s.id === "bundle" && s.contenders.length === 0) continue; // bench/bundle_size.ts not there yet
    assert.ok(s.contenders.length >= 2, `${s.id}: contenders`);
    for (const c of s.contenders) {
      assert.ok(Number.isFinite(c.median) && c.median >= 0, `${s.id}/${c.name}: median ${c.median}`);
      assert.equal(c.samples.length, s.rounds, `${s.id}/${c.name}: one sample per round`);
    }
    const ref = s.contenders.find((c) => c.name === s.reference);
    if (s.reference !== undefined) assert.ok(ref, `${s.id}: reference ${s.reference} among the contenders`);
    if (ref?.ratio !== undefined) assert.equal(ref.ratio, 1, `${s.id}: reference ratio`);
    for (const t of s.targets) assert.equal(typeof t.pass, "boolean", `${s.id}: ${t.label}`);
  }
  const names = (id: string) => report.scenarios.find((s) => s.id === id)!.contenders.map((c) => c.name);
  assert.deepEqual(names("throughput"), ["@dewey/db", "postgres.js", "pg Pool", "10× postgres.js max:1", "pgbench"]);
  const cold = ["@dewey/db", "postgres.js", "postgres.js + zod/mini loaded", "postgres.js + @dewey/db loaded"];
  assert.deepEqual(names("cold-start"), cold);
  assert.deepEqual(names("cold-start-node"), cold);
  assert.deepEqual(names("copy-in-1m"), ["@dewey/db", "postgres.js", "psql \\copy"]);
  assert.deepEqual(names("otel-overhead"), [
    "no telemetry",
    "otel(), no SDK",
    "otel() + SDK, every span",
    "metricsHandler",
  ]);
  const table = renderTable(report.meta, report.scenarios);
  assert.match(table, /SELECT 1, 64 callers on 10 connections/);
  assert.match(table, /Targets: \d+ not judged/);
});
