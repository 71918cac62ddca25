/**
 * `copy-in-1m`: COPY FROM STDIN of the same 1,000,000-row CSV file by
 * `db.copyFrom()` (reading the file as a `ReadableStream`), raw postgres.js
 * (`.writable()` piped from a file stream) and `psql \copy`, into an UNLOGGED
 * table truncated before each round: rows per second, and the ratio to psql.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { libpqFlags, openOurs, OURS, RAW, rawClient, target as connTarget } from "../contenders.ts";
import { type Contender, interleave, pairedMedian, summarise } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** `psql`, PostgreSQL's own client. */
export const PSQL = "psql \\copy";
const TABLE = "dewey_bench_copy";
const COPY = `COPY ${TABLE} (id, name, amount) FROM STDIN (FORMAT csv)`;

/** The scenario. */
export const copyIn: Scenario = {
  id: "copy-in-1m",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const rows = ctx.quick ? 20_000 : 1_000_000;
    const dir = await Deno.makeTempDir({ prefix: "dewey_bench_copy_" });
    const file = `${dir}/rows.csv`;
    const db = await openOurs(ctx.url, 1);
    const sql = rawClient(ctx.url);
    try {
      await writeCsv(file, rows);
      const { size } = await Deno.stat(file);
      await sql.unsafe(`CREATE UNLOGGED TABLE IF NOT EXISTS ${TABLE} (id int, name text, amount numeric)`);
      const round = (load: () => Promise<unknown>) => async () => {
        await sql.unsafe(`TRUNCATE ${TABLE}`);
        const t0 = performance.now();
        await load();
        const ms = performance.now() - t0;
        const [{ n }] = await sql.unsafe(`SELECT count(*)::int AS n FROM ${TABLE}`);
        if (n !== rows) throw new Error(`copied ${n} rows of ${rows}`);
        return { value: rows / (ms / 1000), extra: { "MB/s": size / 1e6 / (ms / 1000) } };
      };
      const contenders: Contender[] = [
        {
          name: OURS,
          round: round(async () => {
            // The stream closes the file when it ends or is cancelled.
            await db.copyFrom(COPY, (await Deno.open(file)).readable);
          }),
        },
        {
          name: RAW,
          round: round(async () => {
            const writable = await sql.unsafe(COPY).writable() as unknown as Writable;
            await pipeline(createReadStream(file), writable);
          }),
        },
        { name: PSQL, round: round(() => psqlCopy(ctx.url, file)) },
      ];
      const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 3, warmup: 1, log: ctx.log });
      const vsPsql = pairedMedian(samples, OURS, PSQL, (a, b) => a / b);
      const vsRaw = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
      return {
        id: this.id,
        title: `COPY FROM STDIN: ${rows.toLocaleString("en")} CSV rows (${(size / 1e6).toFixed(0)} MB)`,
        unit: "rows/s",
        better: "higher",
        reference: PSQL,
        rounds: samples.get(OURS)!.length,
        contenders: summarise(samples, PSQL),
        targets: [],
        notes: [
          `The same file each round into an UNLOGGED table (id int, name text, amount numeric), truncated before ` +
          `the round; ${OURS} reads it as a ReadableStream, ${RAW} pipes a file stream into .writable(), psql's time ` +
          `includes its start and connect. ${OURS} at ${vsPsql.toFixed(2)}× psql, ${vsRaw.toFixed(2)}× ${RAW}. ` +
          `No target: read the ratio.`,
        ],
      };
    } finally {
      await sql.unsafe(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => {});
      await Promise.all([db.close(), sql.end({ timeout: 1 })]);
      await Deno.remove(dir, { recursive: true });
    }
  },
};

async function writeCsv(path: string, rows: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const writer = f.writable.getWriter(); // closing it closes the file
  for (let start = 1; start <= rows; start += 10_000) {
    let chunk = "";
    for (let i = start; i < start + 10_000 && i <= rows; i++) chunk += `${i},"name ${i}",${(i * 0.01).toFixed(2)}\n`;
    await writer.write(encoder.encode(chunk));
  }
  await writer.close();
}

async function psqlCopy(url: URL, file: string): Promise<void> {
  const t = connTarget(url);
  const { code, stderr } = await new Deno.Command("psql", {
    args: [
      "-X",
      "-q",
      ...libpqFlags(t),
      "-d",
      t.dbname,
      "-c",
      `\\copy ${TABLE} (id, name, amount) FROM '${file}' (FORMAT csv)`,
    ],
    env: t.password ? { PGPASSWORD: t.password } : {},
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`psql exited ${code}: ${new TextDecoder().decode(stderr).trim()}`);
}
