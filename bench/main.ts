/**
 * `deno task bench`: @dewey/db against raw postgres.js, `npm:pg` and pgbench,
 * every scenario interleaved (A B C, B C A...) with warm-up, medians and
 * per-round ratios, printed as a table (or JSON with `--json`).
 *
 * Flags: `--quick` (tiny counts, for the smoke test), `--json`,
 * `--only=id,id` / `--skip=id,id` (scenario ids: see `--list`), `--url=postgres://...`
 * (else `DATABASE_URL`, else the local test database), `--strict` (exit 2
 * when a target is missed). Progress goes to stderr.
 *
 * @example
 * ```sh
 * deno task bench              # full run, table
 * deno task bench --quick --json
 * deno task bench --only=throughput,latency
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { benchUrl, rawClient } from "./contenders.ts";
import { bundle } from "./scenarios/bundle.ts";
import { ceiling } from "./scenarios/ceiling.ts";
import { coldStart } from "./scenarios/cold_start.ts";
import { coldStartNode } from "./scenarios/cold_start_node.ts";
import { copyIn } from "./scenarios/copy_in.ts";
import { cursor } from "./scenarios/cursor.ts";
import { drizzlePkRead, drizzleTransaction } from "./scenarios/drizzle.ts";
import { fakePool } from "./scenarios/fake_pool.ts";
import { idleMemory } from "./scenarios/idle_memory.ts";
import { installSize } from "./scenarios/install_size.ts";
import { kyselyPkRead, kyselyTransaction } from "./scenarios/kysely.ts";
import { notifyLatency } from "./scenarios/notify_latency.ts";
import { otelOverhead } from "./scenarios/otel_overhead.ts";
import { pkRead } from "./scenarios/pk_read.ts";
import { recovery } from "./scenarios/recovery.ts";
import { select1Latency } from "./scenarios/select1_latency.ts";
import { select1Throughput } from "./scenarios/select1_throughput.ts";
import { transaction } from "./scenarios/transaction.ts";
import { renderTable, type RunMeta } from "./table.ts";
import type { BenchContext, Scenario, ScenarioResult } from "./types.ts";

/** Every scenario, in run order (CPU-only first, the server restarts last). */
export const SCENARIOS: readonly Scenario[] = [
  fakePool,
  select1Latency,
  select1Throughput,
  otelOverhead,
  pkRead,
  ceiling,
  transaction,
  kyselyPkRead,
  kyselyTransaction,
  drizzlePkRead,
  drizzleTransaction,
  cursor,
  copyIn,
  notifyLatency,
  coldStart,
  coldStartNode,
  idleMemory,
  recovery,
  bundle,
  installSize,
];

/** What `--json` prints. */
export interface BenchReport {
  /** Facts about the run. */
  meta: RunMeta;
  /** One entry per scenario run. */
  scenarios: ScenarioResult[];
}

async function describeRun(url: URL, quick: boolean): Promise<RunMeta> {
  const shown = new URL(url.href);
  if (shown.password) shown.password = "***";
  let server = "unknown";
  const sql = rawClient(url);
  try {
    server = String((await sql`SHOW server_version`)[0].server_version);
  } finally {
    await sql.end({ timeout: 1 });
  }
  let model = "";
  try {
    model = /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1]?.trim() ?? "";
  } catch { /* not Linux */ }
  const v = Deno.version;
  return {
    started: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    mode: quick ? "quick" : "full",
    database: shown.href,
    server,
    deno: `Deno ${v.deno} (V8 ${v.v8})`,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpu: `${navigator.hardwareConcurrency} CPUs${model ? ` (${model})` : ""}`,
    load: Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
  };
}

/**
 * Runs the selected scenarios; a scenario that throws is reported, not fatal.
 *
 * @example
 * ```ts ignore
 * const report = await runBench({ quick: true, url: benchUrl(), log: console.error }, ["latency"]);
 * ```
 */
export async function runBench(ctx: BenchContext, ids?: readonly string[]): Promise<BenchReport> {
  const t0 = performance.now();
  const meta = await describeRun(ctx.url, ctx.quick);
  const scenarios: ScenarioResult[] = [];
  for (const s of SCENARIOS) {
    if (ids && !ids.includes(s.id)) continue;
    ctx.log(`${s.id}...`);
    const started = performance.now();
    let result: ScenarioResult;
    try {
      result = await s.run(ctx);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`${s.id} failed: ${error instanceof Error ? error.stack : message}`);
      result = { id: s.id, title: s.id, unit: "", better: "higher", rounds: 0, contenders: [], targets: [], notes: [] };
      result.error = message.split("\n")[0];
    }
    result.wallMs = performance.now() - started;
    scenarios.push(result);
  }
  meta.wallSeconds = (performance.now() - t0) / 1000;
  return { meta, scenarios };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      only: { type: "string" },
      skip: { type: "string" },
      url: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("deno task bench [--quick] [--json] [--strict] [--only=id,..] [--skip=id,..] [--url=postgres://..]");
    console.log(`scenarios: ${SCENARIOS.map((s) => s.id).join(", ")}`);
    Deno.exit(0);
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(s.id);
    Deno.exit(0);
  }
  const split = (v?: string) => v?.split(",").map((s) => s.trim()).filter(Boolean);
  const known = new Set(SCENARIOS.map((s) => s.id));
  const only = split(values.only);
  const skip = split(values.skip) ?? [];
  for (const id of [...only ?? [], ...skip]) {
    if (!known.has(id)) {
      console.error(`unknown scenario "${id}"; known: ${[...known].join(", ")}`);
      Deno.exit(64);
    }
  }
  const ids = (only ?? [...known]).filter((id) => !skip.includes(id));
  const report = await runBench(
    { quick: values.quick, url: benchUrl(values.url), log: (line) => console.error(line) },
    ids,
  );
  console.log(values.json ? JSON.stringify(report, null, 2) : renderTable(report.meta, report.scenarios));
  const failed = report.scenarios.some((s) => s.error);
  const missed = report.scenarios.some((s) => s.targets.some((t) => !t.pass));
  Deno.exit(failed ? 1 : values.strict && missed ? 2 : 0);
}
