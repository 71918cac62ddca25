/**
 * Fuzz: a random password planted in URLs (valid, mistyped, mutated),
 * keyword/value strings, YAML (valid, broken, mutated), objects and
 * environment variables must never show in anything a configuration error
 * or a configuration prints: message, `issues`, stack, causes, `String`,
 * `JSON.stringify`, `Deno.inspect`; nor, on a real server (SCRAM), in the
 * errors, events, log lines and health of a connection, even where the
 * server quotes it back, nor in the doctor's report. Fixed seeds, so a
 * failure replays.
 */

import assert from "node:assert/strict";
import { formatReport, runDoctor } from "../doctor/mod.ts";
import {
  DatabaseConnection,
  DatabaseConnectionError,
  healthHandler,
  loadConfig,
  type Logger,
  parseConfig,
  QueryError,
} from "../mod.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { logfmt } from "../src/logger.ts";
import { redactorOf } from "../src/redact.ts";
import { startCluster } from "./helpers/cluster.ts";
import { EVENT_NAMES } from "./helpers/events.ts";

const SEEDS = [7, 1999, 4242];
const PASSWORDS_PER_SEED = 10;

type Random = () => number;

/** mulberry32: small, seedable, good enough to pick cases. */
function prng(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PUNCTUATION = "@:/?#%'\"\\= &+,;[]{}*!`$~^|<>-_.";
const UNICODE = ["é", "密", "🔑", "ß", "Ω", "ñ"];
// A one- or two-character password is only checkable when it cannot occur in an honest message by chance.
const RARE = ["§", "¤", "¶", "µ"];

const pick = <T>(random: Random, items: readonly T[] | string): T | string =>
  items[Math.floor(random() * items.length)];

function plantedPassword(random: Random): string {
  if (random() < 0.15) return `${pick(random, RARE)}${random() < 0.5 ? "" : pick(random, ALNUM + PUNCTUATION)}`;
  const chars = ["Q", "z"]; // two letters in a row keep a long password distinctive
  for (let n = 3 + Math.floor(random() * 18); n > 0; n--) {
    const r = random();
    chars.push(String(r < 0.5 ? pick(random, ALNUM) : r < 0.9 ? pick(random, PUNCTUATION) : pick(random, UNICODE)));
  }
  return chars.sort(() => random() - 0.5).join("");
}

/** `text` with a few characters deleted, inserted, doubled or swapped. */
function mutate(text: string, random: Random, times: number): string {
  let out = text;
  for (let k = 0; k < times; k++) {
    const i = Math.floor(random() * (out.length + 1));
    const op = random();
    if (op < 0.3) out = out.slice(0, i) + out.slice(i + 1);
    else if (op < 0.6) out = out.slice(0, i) + pick(random, ":/@?#%'\"\\= &+,;[]{}*!|>-\n\t ") + out.slice(i);
    else if (op < 0.8) out = out.slice(0, i) + out.slice(i, i + 1) + out.slice(i);
    else out = out.slice(0, i) + out.slice(i + 1, i + 2) + out.slice(i, i + 1) + out.slice(i + 2);
  }
  return out;
}

function urls(pw: string, random: Random): string[] {
  const enc = encodeURIComponent(pw);
  const quoted = `'${pw.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  const mistyped = [
    "postgres:/",
    "postgres:",
    "postgres:://",
    "postgres//",
    "postgress://",
    "postgre://",
    "POSTGRESQL:/",
    "pg://",
    "postgresql+psycopg://",
    "jdbc:postgresql://",
    '"postgres://',
    "//",
    "",
  ];
  return [
    `postgres://app:${pw}@db:5432/app?sslmode=require`,
    `postgresql://app:${pw}@h1:5432,h2/app`,
    `postgres://app@db/app?password=${pw}&sslmode=require`,
    `postgres://db/app?sslpassword=${pw}`,
    `postgres://app:${pw}@db:54x/app?pool_mx=1&sslmode`,
    `postgres://app:${pw}@`,
    `pglite://app:${pw}@memory`,
    `pglite://app:${enc}@memory`,
    `${pick(random, mistyped)}app:${pw}@db/app`,
    `${mutate("postgres://", random, 1 + Math.floor(random() * 3))}app:${pw}@db/app`,
    `postgres://app:${pw}@${mutate("db:5432/app?sslmode=require", random, 2)}`,
    `host=db password=${quoted} dbname=app`,
    `host=db password=${pw} dbname=app`,
    `${mutate("host=db ", random, 2)}sslpassword=${quoted}`,
  ];
}

function yamls(pw: string, random: Random): string[] {
  const dq = JSON.stringify(pw);
  const sq = `'${pw.replaceAll("'", "''")}'`;
  const head = "database:\n  postgres:\n";
  const templates = [
    `${head}    password: ${dq}\n    port: 54x\n`,
    `${head}    password: ${sq}\n    sslmode: requir\n`,
    `${head}    password: ${pw}\n    host: db\n`,
    `${head}    password: ${pw}: x\n`,
    `${head}    password: ${pw}\n     sslmode: require\n`,
    `database:\n  password: ${pw}\n   sslmode: require\n`,
    `${head}    password: "${pw}\n    port: 5\n`,
    `${head}    password:\n    ${pw}\n`,
    `${head}    password: |\n      ${pw}\n    pool_mx: 1\n`,
    `${head}    password: [${pw}\n`,
    `${head}    password: *${pw}\n`,
    `${head}    password: !${pw}\n`,
    `database:\n  postgres: { password: ${pw}, host: db }\n`,
    `${head}    sslpassword: ${pw}\n    sslkey: |\n      -----BEGIN PRIVATE KEY-----\n      ${pw}\n      -----END PRIVATE KEY-----\n`,
    `${head}    password: \${DB_PW}\n    port: 54x\n`,
  ];
  const base = `${head}    host: db\n    password: `;
  return [
    ...templates,
    `${mutate(base, random, 1 + Math.floor(random() * 3))}${pw}${mutate("\n    port: 1\n", random, 1)}`,
  ];
}

function objects(pw: string): Record<string, unknown>[] {
  return [
    { password: pw, port: "54x" },
    { postgres: { password: pw, pool_min: 5, pool_max: 1 } },
    { password: { value: pw } },
    { password: [pw], sslkey: 12 },
    { host: `postgres://app:${pw}@db/app` },
    { password: "${DB_PW}", sslmode: "${DB_PW}" },
    { database: { postgres: { sslpassword: pw }, other: pw } },
    { pasword: pw },
  ];
}

/** Everything a value prints, to search for the password. */
function printouts(value: unknown): string[] {
  const texts = [String(value), Deno.inspect(value, { depth: 10 })];
  if (!(value instanceof Error)) return [...texts, JSON.stringify(value) ?? ""];
  let e: unknown = value;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++, e = e.cause) {
    texts.push(e.message, e.stack ?? "", JSON.stringify((e as { issues?: unknown }).issues ?? null));
  }
  return texts;
}

function assertHidden(pw: string, value: unknown, scenario: string): void {
  const needles = new Set([pw, pw.trim(), pw.toLowerCase(), encodeURIComponent(pw)].filter((s) => s !== ""));
  for (const text of printouts(value)) {
    for (const needle of needles) {
      assert.ok(!text.includes(needle), `${scenario}: password ${JSON.stringify(pw)} shows in:\n${text}`);
    }
  }
}

async function outcome(run: () => unknown): Promise<unknown> {
  try {
    return await run();
  } catch (e) {
    return e;
  }
}

Deno.test("fuzz: a planted password shows in no error and no printout of a configuration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dewey-fuzz-" });
  const file = `${dir}/dewey.yaml`;
  let configs = 0;
  let errors = 0;
  try {
    for (const seed of SEEDS) {
      const random = prng(seed);
      for (let n = 0; n < PASSWORDS_PER_SEED; n++) {
        const pw = plantedPassword(random);
        const env = { DB_PW: pw };
        const runs: [string, () => unknown][] = [];
        for (const url of urls(pw, random)) {
          runs.push([`parseConfig(${JSON.stringify(url)})`, () => parseConfig(url, { env: {} })]);
          runs.push([`loadConfig(${JSON.stringify(url)})`, () => loadConfig(url, { env: {} })]);
          runs.push([
            `DATABASE_URL=${JSON.stringify(url)}`,
            () => loadConfig(undefined, { env: { DATABASE_URL: url } }),
          ]);
          runs.push([
            `DEWEY_CONFIG=${JSON.stringify(url)}`,
            () => loadConfig(undefined, { env: { DEWEY_CONFIG: url } }),
          ]);
        }
        for (const text of yamls(pw, random)) {
          runs.push([`YAML ${JSON.stringify(text)}`, async () => {
            await Deno.writeTextFile(file, text);
            return await loadConfig(file, { env });
          }]);
        }
        for (const object of objects(pw)) {
          runs.push([`object ${JSON.stringify(object)}`, () => parseConfig(object, { env })]);
        }
        runs.push(["PGPASSWORD, bad port", () => parseConfig({ port: "x" }, { env: { PGPASSWORD: pw } })]);
        runs.push(["PGPASSWORD", () => parseConfig({}, { env: { PGPASSWORD: pw } })]);
        runs.push(["encoded URL", () => parseConfig(`postgres://app:${encodeURIComponent(pw)}@db/app`, { env: {} })]);
        for (const [scenario, run] of runs) {
          const result = await outcome(run);
          assertHidden(pw, result, `seed ${seed}, ${scenario}`);
          if (result instanceof Error) errors++;
          else {
            configs++;
            const config = result as DatabaseConfig;
            // The configuration's redactor knows the password wherever it came from (long enough to search for).
            const planted = [config.password?.reveal(), config.sslpassword?.reveal()].includes(pw);
            if (planted && pw.length >= 3) {
              assertHidden(pw, redactorOf(config).redact(`seen: ${pw}.`), `seed ${seed}, ${scenario}, redactor`);
            }
          }
        }
        // Planted where it parses, the password arrives intact: the cases above do test what they claim.
        const config = parseConfig(`postgres://app:${encodeURIComponent(pw)}@db/app`, { env: {} });
        assert.equal(config.password?.reveal(), pw);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(configs > 100 && errors > 1000, `${configs} configurations and ${errors} errors checked`);
});

/** Everything a connection shows: errors its methods threw, log lines, event details, health, printouts. */
class Exposure {
  readonly texts: string[] = [];
  readonly logger: Logger;

  constructor() {
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      this.texts.push(`${level} ${message} ${fields ? logfmt(fields) : ""}`, JSON.stringify(fields ?? {}));
    };
    this.logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  }

  watch(db: DatabaseConnection): void {
    for (const name of EVENT_NAMES) db.on(name, (e) => this.texts.push(`${name} ${JSON.stringify(e.detail)}`));
  }

  /** Runs `step`; whatever it returns or throws is exposed. */
  async try(step: () => unknown): Promise<unknown> {
    const result = await outcome(step);
    this.texts.push(...printouts(result));
    return result;
  }

  async inspect(db: DatabaseConnection): Promise<void> {
    await this.try(() => db.health());
    const response = await healthHandler(db)(new Request("http://localhost/healthz"));
    this.texts.push(await response.text(), String(db), Deno.inspect(db), JSON.stringify(db.stats()));
  }
}

Deno.test("fuzz: a planted password shows in no error, event, log line, health snapshot or doctor report of a real connection", async () => {
  await using pg = await startCluster({
    password: "admin-Pw-0",
    hba: ["local all all trust", "host all all 127.0.0.1/32 scram-sha-256"],
  });
  await pg.psql("CREATE ROLE fuzz LOGIN; CREATE ROLE fuzz_other LOGIN PASSWORD 'not-the-planted-one'");
  const random = prng(SEEDS[0]);
  const options = "pool_min=1&pool_max=2&connect_timeout=2s&pool_acquire_timeout=300ms&leak_detection_threshold=1ms";
  let echoed = 0;
  for (let n = 0; n < 6; n++) {
    // Printable ASCII (the server and the driver prepare a non-ASCII SCRAM password differently: SASLprep);
    // a short one keeps a character no honest message holds, so that finding it means a leak.
    const ascii = plantedPassword(random).replace(/[^\x20-\x7e]/g, "~");
    const pw = ascii.length < 3 ? `~${ascii}` : ascii;
    await pg.psql(`ALTER ROLE fuzz PASSWORD '${pw.replaceAll("'", "''")}'`);
    const seen = new Exposure();
    const right = `postgres://fuzz:${encodeURIComponent(pw)}@${pg.host}:${pg.port}/postgres?${options}`;
    {
      // The right password: the server echoes it back in errors about the statements below.
      await using db = new DatabaseConnection(right, { logger: seen.logger, logLevel: "debug" });
      seen.watch(db);
      await db.validateConnection();
      const echo = await seen.try(() => db.query("SELECT $1::int", [pw]));
      assert.ok(echo instanceof QueryError && echo.code === "22P02", `expected 22P02, got ${echo}`);
      echoed++;
      await seen.try(() => db.sql`SELECT ${pw}::int`);
      await seen.try(() => db.query("SELECT $1::int", [pw], { timeout: 5_000 }));
      await seen.try(() => db.getSession((s) => s.query("SELECT $1::int", [pw])));
      await seen.try(async () => {
        await using c = await db.engine.connect();
        await c.query(`SELECT '${pw.replaceAll("'", "''")}'::int`);
      });
      await seen.inspect(db);
    }
    const wrong = [
      `postgres://fuzz_other:${encodeURIComponent(pw)}@${pg.host}:${pg.port}/postgres?${options}`,
      { postgres: { host: pg.host, port: pg.port, user: "fuzz_other", password: pw, pool_acquire_timeout: "300ms" } },
    ];
    for (const config of wrong) {
      await using db = new DatabaseConnection(config, { logger: seen.logger, logLevel: "debug" });
      seen.watch(db);
      const refused = await seen.try(() => db.validateConnection());
      assert.ok(refused instanceof DatabaseConnectionError && refused.code === "28P01", `expected 28P01: ${refused}`);
      await seen.try(() => db.query("SELECT 1"));
      await seen.inspect(db);
    }
    {
      const env = { PGPASSWORD: pw, PGUSER: "fuzz_other" };
      await using db = new DatabaseConnection({ host: pg.host, port: pg.port }, { env, logger: seen.logger });
      seen.watch(db);
      await seen.try(() => db.validateConnection());
      await seen.inspect(db);
    }
    for (const target of [right, wrong[0] as string]) {
      const report = await runDoctor(target, { env: {}, samples: 1 });
      seen.texts.push(JSON.stringify(report), formatReport(report));
    }
    for (const text of seen.texts) assertHidden(pw, text, `password ${n}`);
  }
  assert.equal(echoed, 6);
});
