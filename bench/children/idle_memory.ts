// Idle-connection memory child: `idle_memory.ts <ours|raw|pg> <url> <n>`. Loads the client, warms one
// connection on a first instance (code loaded and compiled), measures, then opens a second instance with
// `n` connections left idle and measures again. Prints one line: MEM {"rss":..,"heap":..,"external":..}
// with the deltas per idle connection, in bytes.
import pg from "pg";
import postgres from "postgres";
import { DatabaseConnection } from "../../mod.ts";

const [kind, href, count] = Deno.args;
const url = new URL(href);
const n = Number(count);
const gc = (globalThis as { gc?: () => void }).gc;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc?.();
  }
  return Deno.memoryUsage();
};
const conn = {
  host: url.hostname,
  port: Number(url.port || 5432),
  dbname: decodeURIComponent(url.pathname.slice(1)),
  user: decodeURIComponent(url.username || "postgres"),
};

async function open(size: number): Promise<() => Promise<void>> {
  if (kind === "ours") {
    const db = new DatabaseConnection({
      postgres: { ...conn, sslmode: "disable", pool_min: size, pool_max: size, health_check_interval: 0 },
    }, { logger: false });
    await db.validateConnection();
    while (db.stats().total < size) await new Promise((r) => setTimeout(r, 5));
    await db.query("SELECT 1");
    return () => db.close();
  }
  if (kind === "raw") {
    const sql = postgres({
      ...conn,
      database: conn.dbname,
      max: size,
      ssl: false,
      idle_timeout: 0,
      onnotice: () => {},
    });
    await Promise.all(Array.from({ length: size }, () => sql`SELECT pg_sleep(0.05)`));
    return () => sql.end({ timeout: 1 });
  }
  const pool = new pg.Pool({ ...conn, database: conn.dbname, max: size, idleTimeoutMillis: 0 });
  await Promise.all(Array.from({ length: size }, () => pool.query("SELECT pg_sleep(0.05)")));
  return () => pool.end();
}

const closeWarm = await open(1);
const before = await settle();
const closeMany = await open(n);
const after = await settle();
console.log(
  "MEM " + JSON.stringify({
    rss: (after.rss - before.rss) / n,
    heap: (after.heapUsed - before.heapUsed) / n,
    external: (after.external - before.external) / n,
  }),
);
await closeMany();
await closeWarm();
