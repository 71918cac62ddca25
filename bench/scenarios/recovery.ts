/**
 * Recovery after `pg_ctl restart` (fast) of a throwaway cluster: the time
 * from the server logging "ready to accept connections" to the first
 * statement that succeeds. Two load shapes per contender:
 * - open loop: a new `SELECT 1` every 5 ms whatever happened to the last
 *   (a web server's requests);
 * - closed loop: one caller that awaits each statement and retries 5 ms
 *   after an error (a worker loop); a caller parked in a pool queue only
 *   gets out when the pool itself redials, so this shows the pool's backoff.
 *
 * @module
 */

import pg from "pg";
import postgres from "postgres";
import { DatabaseConnection } from "../../mod.ts";
import { type Cluster, startCluster } from "../../tests/helpers/cluster.ts";
import { OURS, PG, RAW, target as dbTarget } from "../contenders.ts";
import { type Contender, interleave, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";
import { fullServer, killedIdle, missingProxy } from "./recovery_faults.ts";

const TICK = 5;
const GIVE_UP = 15_000;

interface Client {
  query(): Promise<unknown>;
  close(): Promise<void>;
}

type Opener = (url: string) => Promise<Client>;

const openers: Record<string, Opener> = {
  [OURS]: async (url) => {
    const t = dbTarget(new URL(url));
    const db = new DatabaseConnection({
      postgres: { host: t.host, port: t.port, dbname: t.dbname, user: t.user, sslmode: "disable", close_timeout: "1s" },
    }, { logger: false });
    await db.validateConnection();
    return { query: () => db.query("SELECT 1"), close: () => db.close() };
  },
  [RAW]: async (url) => {
    const sql = postgres(url, { max: 10, ssl: false, onnotice: () => {} });
    await sql`SELECT 1`;
    return { query: () => sql`SELECT 1`, close: () => sql.end({ timeout: 0.2 }) };
  },
  [PG]: async (url) => {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on("error", () => {}); // idle clients die with the server; pg rethrows unless someone listens
    await pool.query("SELECT 1");
    return { query: () => pool.query("SELECT 1"), close: () => pool.end() };
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The wall-clock ms of the last "ready to accept connections" line written after `after`. */
async function readyAt(cluster: Cluster, after: number): Promise<number | undefined> {
  const re = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC .*database system is ready to accept connections/gm;
  let found: number | undefined;
  for (const m of (await cluster.log()).matchAll(re)) {
    const t = Date.parse(`${m[1]}T${m[2]}Z`);
    if (t >= after - 5) found = t;
  }
  return found;
}

/** Restarts the server under load; resolves with ms from ready to the first success. */
async function measure(
  cluster: Cluster,
  open: Opener,
  mode: "open" | "closed",
  downMs: number,
  settleMs: number,
): Promise<number> {
  const client = await open(cluster.url("postgres"));
  const pending = new Set<Promise<unknown>>();
  let stop = false;
  let firstSuccess = Infinity;
  let downAt = Infinity; // successes before the server was down do not count
  const attempt = async () => {
    try {
      await client.query();
      const t = Date.now();
      if (t >= downAt && t < firstSuccess) firstSuccess = t;
      return true;
    } catch {
      return false;
    }
  };
  let load: Promise<void>;
  if (mode === "open") {
    load = (async () => {
      while (!stop) {
        const p = attempt();
        pending.add(p);
        p.finally(() => pending.delete(p));
        await sleep(TICK);
      }
    })();
  } else {
    load = (async () => {
      while (!stop) if (!(await attempt())) await sleep(TICK);
    })();
  }
  try {
    await sleep(20);
    await cluster.stop("fast");
    downAt = Date.now();
    await sleep(downMs);
    await cluster.start();
    const deadline = Date.now() + GIVE_UP;
    while (firstSuccess === Infinity && Date.now() < deadline) await sleep(1);
    const ready = await readyAt(cluster, downAt);
    if (ready === undefined) throw new Error("no 'ready to accept connections' line in the server log");
    if (firstSuccess === Infinity) throw new Error(`no success within ${GIVE_UP} ms of the restart`);
    if (firstSuccess < ready) {
      throw new Error(`a statement succeeded ${ready - firstSuccess} ms before the server was ready`);
    }
    return firstSuccess - ready;
  } finally {
    stop = true;
    await load;
    // Some clients leave statements hanging for many seconds after an outage: do not wait them out.
    await Promise.race([Promise.allSettled([...pending]), sleep(settleMs)]);
    await client.close();
  }
}

/** The scenario. */
export const recovery: Scenario = {
  id: "recovery",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const downMs = ctx.quick ? 50 : 1000;
    await using cluster = await startCluster();
    const crashes = new Map<string, string[]>(); // unhandled rejections seen while a contender ran
    const contenders: Contender[] = [];
    for (const mode of ["open", "closed"] as const) {
      for (const name of [OURS, RAW, PG]) {
        const label = `${name}, ${mode} loop`;
        contenders.push({
          name: label,
          round: async () => {
            // An unhandled rejection would end a real application: count it (and keep the bench alive).
            const onUnhandled = (e: PromiseRejectionEvent) => {
              e.preventDefault();
              const r = e.reason as { message?: string; stack?: string } | undefined;
              const where = r?.stack?.split("\n").find((l) => l.includes("file://"))?.trim() ?? "";
              crashes.set(label, [...crashes.get(label) ?? [], `${r?.message ?? String(e.reason)} ${where}`]);
            };
            globalThis.addEventListener("unhandledrejection", onUnhandled);
            try {
              return { value: await measure(cluster, openers[name], mode, downMs, ctx.quick ? 100 : 300) };
            } finally {
              // Late rejections land a tick later: give them a moment before detaching.
              await sleep(50);
              globalThis.removeEventListener("unhandledrejection", onUnhandled);
            }
          },
        });
      }
    }
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 3, warmup: 0, log: ctx.log });
    ctx.log("recovery: a full server, a missing WebSocket proxy (side by side), then killed idle backends");
    const [full, proxy] = await Promise.all([
      fullServer(ctx.quick ? 1000 : 10_000),
      missingProxy(ctx.quick ? 1000 : 20_000),
    ]);
    const kills = await killedIdle(cluster, ctx.quick ? 1 : 3, ctx.quick ? 20 : 100);
    const results = summarise(samples, `${RAW}, open loop`);
    const oursOpen = results.find((r) => r.name === `${OURS}, open loop`)!.median;
    const oursClosed = results.find((r) => r.name === `${OURS}, closed loop`)!.median;
    const oursCrashes = [...crashes].filter(([k]) => k.startsWith(OURS)).reduce((n, [, v]) => n + v.length, 0);
    const crashNotes = [...crashes].map(([k, v]) =>
      `${k}: ${v.length} unhandled rejection(s), which end a Deno or Node process: ${[...new Set(v)].join("; ")}`
    );
    return {
      id: this.id,
      title: "Recovery: server ready → first success after pg_ctl restart",
      unit: "ms",
      better: "lower",
      reference: `${RAW}, open loop`,
      rounds: samples.get(`${OURS}, open loop`)!.length,
      contenders: results,
      targets: [
        target(`${OURS} open loop ≤ 250 ms`, oursOpen, "<=", 250, `${oursOpen.toFixed(0)} ms`),
        target(`${OURS} closed loop ≤ 250 ms`, oursClosed, "<=", 250, `${oursClosed.toFixed(0)} ms`),
        target(`${OURS}: no unhandled rejection during outages`, oursCrashes, "<=", 0, `${oursCrashes}`),
        target(
          `${OURS} server full: ≤ 2 refused connects/s once the pool is open`,
          full.refusedPerSecond,
          "<=",
          2,
          `${full.refusedPerSecond.toFixed(1)}/s`,
        ),
        target(
          `${OURS} neon, proxy down: ≤ 30 attempts in 20 s`,
          proxy.attempts,
          "<=",
          30,
          `${proxy.attempts} in ${ctx.quick ? 1 : 20} s`,
        ),
        target(
          `${OURS} killed idle backends: every session succeeds`,
          kills.sent - kills.sessions,
          "<=",
          0,
          `${kills.sessions}/${kills.sent}`,
        ),
      ],
      notes: [
        `Throwaway cluster (tests/helpers/cluster.ts): stop -m fast, ${downMs} ms down, start; ` +
        `"ready" is the server log's timestamp (ms). ` +
        `Open loop: a SELECT 1 every ${TICK} ms; closed loop: one caller, ${TICK} ms pause after an error. ` +
        `Default settings (${OURS}: pool_min 1, pool_max 10, backoff 100 ms..10 s; others max 10).`,
        ...crashNotes,
        `Server full: max_connections 6, 3 held by another client, 12 callers in sessions wanting 10 connections; ` +
        `${OURS} held ${full.connections}, served ${full.served} sessions in ${ctx.quick ? 1 : 10} s (${full.failed} ` +
        `failed), ${full.refusedPerSecond.toFixed(1)} refused connects/s after the first second.`,
        `Neon with its WebSocket proxy not running (default backoff), a caller every 5 ms: ${proxy.attempts} attempts ` +
        `for ${proxy.callers} callers in ${ctx.quick ? 1 : 20} s; slowest error ${proxy.slowestMs.toFixed(0)} ms; ` +
        `${proxy.namesProxy ? "every" : "NOT every"} error names the proxy.`,
        `Every idle backend killed (pg_terminate_backend returning at once) as statements are sent, ` +
        `${kills.sent / (ctx.quick ? 20 : 100)} kill(s) per kind, ${ctx.quick ? 20 : 100} statements each: ` +
        `${kills.sessions}/${kills.sent} sessions, ${kills.parameterised}/${kills.sent} parameterised inserts and ` +
        `${kills.plain}/${kills.sent} plain SELECT 1 succeeded.` +
        (kills.parameterised + kills.plain < 2 * kills.sent
          ? " The rest failed with a retryable DatabaseConnectionError (reachedServer: true): the runtime reported " +
            "the broken pipe before the backend's FATAL, so they could not be proved unsent."
          : ""),
      ],
    };
  },
};
