/**
 * Pool checkout + checkin on the fake driver: no I/O, one core, so the
 * number is the pool's own bookkeeping. Three rows: the core `Pool`
 * (`acquire()` + `lease.release()`), the public path
 * (`db.engine.connect()` + `conn.release()`), and the floor any async pool
 * pays (two awaited no-op async calls).
 *
 * @module
 */

import { DatabaseConnection } from "../../mod.ts";
import { Emitter } from "../../src/events.ts";
import { Pool } from "../../src/pool.ts";
import { FakeDriver } from "../../tests/helpers/fake_driver.ts";
import { type Contender, interleave, type Sample, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

const CORE = "Pool.acquire+release";
const PUBLIC = "engine.connect+release";
const FLOOR = "floor: 2 awaited async no-ops";

// Each contender has its own loop, so no wrapper call sits between the measured awaits.
function rate(n: number, t0: number): Sample {
  return { value: n / (performance.now() - t0) * 1000 };
}

/** The scenario. */
export const fakePool: Scenario = {
  id: "fake-pool",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.quick ? 1000 : 400_000;
    const driver = new FakeDriver();
    // Defaults of the real config (pre_ping 1 s, lifetime 30 min, idle 10 min), 10 connections.
    const pool = new Pool(
      {
        min: 10,
        max: 10,
        acquireTimeout: 30_000,
        idleTimeout: 600_000,
        maxLifetime: 1_800_000,
        prePing: 1_000,
        leakThreshold: 0,
        backoffBase: 100,
        backoffMax: 10_000,
        label: "fake:5432",
      },
      (signal, onClose) => driver.connect({ config: {} as never, host: "fake", port: 5432, signal, onClose }),
      new Emitter(),
    );
    pool.start();
    const db = new DatabaseConnection({
      postgres: { host: "fake", pool_min: 10, pool_max: 10, health_check_interval: 0 },
    }, {
      driver: new FakeDriver(),
      logger: false,
    });
    try {
      await db.validateConnection();
      while (pool.slots.length < 10 || db.stats().total < 10) await new Promise((r) => setTimeout(r, 1));
      const noop = async () => {};
      const contenders: Contender[] = [
        {
          name: CORE,
          round: async () => {
            const t0 = performance.now();
            for (let i = 0; i < n; i++) {
              const lease = await pool.acquire();
              await lease.release();
            }
            return rate(n, t0);
          },
        },
        {
          name: PUBLIC,
          round: async () => {
            const t0 = performance.now();
            for (let i = 0; i < n; i++) {
              const conn = await db.engine.connect();
              await conn.release();
            }
            return rate(n, t0);
          },
        },
        {
          name: FLOOR,
          round: async () => {
            const t0 = performance.now();
            for (let i = 0; i < n; i++) {
              await noop();
              await noop();
            }
            return rate(n, t0);
          },
        },
      ];
      const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 5, warmup: 1, log: ctx.log });
      const results = summarise(samples, FLOOR);
      const core = results.find((r) => r.name === CORE)!.median;
      return {
        id: this.id,
        title: "Pool checkout+checkin, fake driver, 1 caller (no I/O)",
        unit: "pairs/s",
        better: "higher",
        reference: FLOOR,
        rounds: samples.get(CORE)!.length,
        contenders: results,
        targets: [target(`${CORE} ≥ 2M pairs/s on one core`, core, ">=", 2e6, `${(core / 1e6).toFixed(2)}M/s`)],
        notes: [
          `${n} sequential pairs per round, 10 idle connections, default pool settings (pre_ping 1 s). ` +
          `Ratios are against the floor; the target is absolute: pairs per second on one core.`,
        ],
      };
    } finally {
      await pool.close(100);
      await db.close();
    }
  },
};
