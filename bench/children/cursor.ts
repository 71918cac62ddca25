// Cursor child: `cursor.ts <ours|raw> <url> <rows> <batch>`. Streams `rows` rows through a cursor of `batch` rows
// (after a warm-up of 20 000) and prints one line: CURSOR {"rows":..,"ms":..,"rss":..,"late":..}: the peak RSS
// growth over the run and, to tell a heap that sized itself from one that keeps growing, how much higher the peak
// of the second half is than the peak of the first, in bytes, sampled after every batch.
import postgres from "postgres";
import { DatabaseConnection } from "../../mod.ts";

const [kind, href, count, size] = Deno.args;
const url = new URL(href);
const rows = Number(count);
const batch = Number(size);
const text = "SELECT x AS id, 'row ' || x AS label, x * 0.5 AS half FROM generate_series(1, $1::int) x";

type Stream = (n: number) => AsyncIterable<{ id: number; label: string }[]>;
let stream: Stream;
let close: () => Promise<void>;
if (kind === "ours") {
  const db = new DatabaseConnection({
    postgres: {
      host: url.hostname,
      port: Number(url.port || 5432),
      dbname: decodeURIComponent(url.pathname.slice(1)),
      user: decodeURIComponent(url.username || "postgres"),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      sslmode: "disable",
      pool_max: 1,
      health_check_interval: 0,
    },
  }, { logger: false });
  stream = (n) => db.cursor(text, [n], { batchSize: batch });
  close = () => db.close();
} else {
  const sql = postgres(href, { max: 1, ssl: false, onnotice: () => {} });
  stream = (n) => sql.unsafe(text, [n]).cursor(batch) as AsyncIterable<{ id: number; label: string }[]>;
  close = () => sql.end({ timeout: 1 });
}

async function run(n: number, sample: (() => void) | undefined): Promise<number> {
  let seen = 0;
  for await (const batchRows of stream(n)) {
    for (const row of batchRows) seen += row.id > 0 && row.label.length > 0 ? 1 : 0;
    sample?.();
  }
  return seen;
}

await run(20_000, undefined);
const before = Deno.memoryUsage().rss;
const peaks = [before, before];
const half = Math.ceil(rows / batch / 2);
let batches = 0;
const t0 = performance.now();
const seen = await run(rows, () => {
  const rss = Deno.memoryUsage().rss;
  const i = batches++ < half ? 0 : 1;
  if (rss > peaks[i]) peaks[i] = rss;
});
const ms = performance.now() - t0;
if (seen !== rows) throw new Error(`streamed ${seen} rows of ${rows}`);
const rss = Math.max(...peaks) - before;
console.log("CURSOR " + JSON.stringify({ rows: seen, ms, rss, late: Math.max(0, peaks[1] - peaks[0]) }));
await close();
