/**
 * How close @dewey/db gets to what the server can do: pgbench with
 * `\startpipeline` (16 statements a batch, 10 clients) against @dewey/db at 64
 * callers on 10 connections, and against the same dispatch written directly on
 * postgres.js, for `SELECT 1` and a primary-key read; with the CPU each spends
 * per statement, client and server. Client and server share the machine's
 * cores, so CPU per statement is what bounds throughput, and it moves far less
 * with the machine's load than statements per second do.
 *
 * Runs on a throwaway cluster, so the server's CPU is only this scenario's; each
 * in-process client runs in a fresh process per round, so its CPU (GC threads
 * included) is its own and no other contender's garbage lands in its heap.
 *
 * @module
 */

import { startCluster } from "../../tests/helpers/cluster.ts";
import { runChild } from "../child.ts";
import { DISPATCH, OURS, target as dbTarget } from "../contenders.ts";
import { clusterCpuNs, cpuAvailable, postmasterPid } from "../cpu.ts";
import { ensureItems, ITEM_COUNT, ITEMS } from "../fixtures.ts";
import { pgbench } from "../pgbench.ts";
import { type Contender, interleave, pairedMedian, type Sample, summarise, target } from "../stats.ts";
import type { BenchContext, ContenderResult, Scenario, ScenarioResult } from "../types.ts";

const CONNECTIONS = 10;
const CALLERS = 64;
const BATCH = 16;
const PIPELINED = "pgbench pipelined";
/** The floor of a JavaScript client on Deno with the same dispatch and semantics (bench/children/ceiling_wire.ts). */
const WIRE = "wire protocol by hand";

interface Workload {
  id: "select1" | "pk";
  label: string;
  /** One pipelined pgbench transaction: BATCH statements between \startpipeline and \endpipeline. */
  script: string;
  /** Statements per in-process round (full run). */
  statements: number;
  /** pgbench transactions per round (full run); BATCH statements each. */
  transactions: number;
}

const WORKLOADS: Workload[] = [
  {
    id: "select1",
    label: "SELECT 1",
    script: pipeline("SELECT 1;\n"),
    statements: 40_000,
    transactions: 10_000,
  },
  {
    id: "pk",
    label: "pk read",
    script: pipeline(`\\set id random(1, ${ITEM_COUNT})\nSELECT id, name, n FROM ${ITEMS} WHERE id = :id;\n`),
    statements: 30_000,
    transactions: 4_000,
  },
];

function pipeline(statement: string): string {
  return `\\startpipeline\n${statement.repeat(BATCH)}\\endpipeline\n`;
}

/** The in-process clients, each run by a child script in a fresh process per round. */
const CLIENTS = [
  { who: OURS, script: "ceiling_client.ts", client: "ours" },
  { who: DISPATCH, script: "ceiling_client.ts", client: "raw" },
  { who: WIRE, script: "ceiling_wire.ts", client: "wire" },
] as const;

const row = (w: Workload, who: string) => `${w.label} · ${who}`;

/** The scenario. */
export const ceiling: Scenario = {
  id: "ceiling",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    await using cluster = await startCluster();
    const url = new URL(cluster.url("postgres"));
    await ensureItems(url);
    const postmaster = await postmasterPid(cluster.dataDir);
    const cpu = cpuAvailable();
    const contenders: Contender[] = [];
    for (const w of WORKLOADS) {
      const transactions = ctx.quick ? 50 : w.transactions;
      const statements = ctx.quick ? 500 : w.statements;
      contenders.push({
        name: row(w, PIPELINED),
        round: async (): Promise<Sample> => {
          const server0 = cpu ? clusterCpuNs(postmaster) : 0;
          const run = await pgbench({
            target: dbTarget(url),
            script: w.script,
            clients: CONNECTIONS,
            transactions,
            cpu,
          });
          const n = Math.ceil(transactions / CONNECTIONS) * CONNECTIONS * BATCH;
          const extra: Record<string, number> = {};
          if (run.cpuSeconds !== undefined) extra["client µs"] = run.cpuSeconds * 1e6 / n;
          if (cpu) extra["server µs"] = (clusterCpuNs(postmaster) - server0) / 1000 / n;
          return { value: run.tps * BATCH, extra };
        },
      });
      for (const { who, script, client } of CLIENTS) {
        contenders.push({
          name: row(w, who),
          round: async (): Promise<Sample> => {
            const args = [client, w.id, url.href, statements, CALLERS, CONNECTIONS, postmaster].map(String);
            const { stdout } = await runChild(script, args);
            const m = JSON.parse(stdout.trim().split("\n").pop()!);
            return { value: m.perSecond, extra: cpu ? { "client µs": m.clientUs, "server µs": m.serverUs } : {} };
          },
        });
      }
    }
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 5, warmup: 1, log: ctx.log });
    // Ratios within each workload, against its pipelined pgbench.
    const results: ContenderResult[] = [];
    const notes: string[] = [];
    for (const w of WORKLOADS) {
      const mine = new Map([...samples].filter(([name]) => name.startsWith(`${w.label} · `)));
      results.push(...summarise(mine, row(w, PIPELINED)));
      const vs = (who: string, pick?: (s: Sample) => number) =>
        pairedMedian(samples, row(w, who), row(w, PIPELINED), (a, b) => a / b, pick).toFixed(2);
      const clientCpu = (s: Sample) => s.extra?.["client µs"] ?? NaN;
      notes.push(
        `${w.label}: ${OURS} at ${vs(OURS)}× pipelined pgbench (${DISPATCH} ${vs(DISPATCH)}×, ${WIRE} ` +
          `${vs(WIRE)}×); client CPU per statement ${vs(OURS, clientCpu)}× pgbench's (${DISPATCH} ` +
          `${vs(DISPATCH, clientCpu)}×, ${WIRE} ${vs(WIRE, clientCpu)}×).`,
      );
    }
    const select1 = WORKLOADS[0];
    const ratio = pairedMedian(samples, row(select1, OURS), row(select1, PIPELINED), (a, b) => a / b);
    return {
      id: this.id,
      title: `The ceiling: pipelined pgbench (${BATCH} a batch) vs ${CALLERS} callers on ${CONNECTIONS} connections`,
      unit: "statements/s",
      better: "higher",
      reference: row(select1, PIPELINED),
      rounds: samples.get(row(select1, OURS))!.length,
      contenders: results,
      targets: [target(`${OURS} ≥ 0.5× ${PIPELINED} (SELECT 1)`, ratio, ">=", 0.5, `${ratio.toFixed(2)}×`)],
      notes: [
        ...notes,
        `${PIPELINED}: -c ${CONNECTIONS} -j 1 -M prepared, \\startpipeline, ${BATCH} statements, \\endpipeline: one ` +
        `Sync, so one implicit transaction, per ${BATCH} statements. ${OURS} and ${DISPATCH}: autocommit (a Sync ` +
        `per statement), each in a fresh process per round. ${WIRE}: the protocol over Deno.connect in ~150 lines ` +
        `(one prepared statement, the same dispatch, a promise per statement): the floor of a JavaScript client on ` +
        `Deno. Ratios within each workload against its pgbench row.`,
        "client µs / server µs: CPU per statement from /proc: the client's whole process (GC threads included); " +
        "the throwaway cluster's postmaster and backends (pgbench's connection setup included).",
      ],
    };
  },
};
