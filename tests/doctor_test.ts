// `deno task doctor` as a subprocess against healthy and broken targets: the report, the exit code, no secrets.
import assert from "node:assert/strict";
import { isLocalHost, poolFindings, riskWarnings } from "../doctor/checks.ts";
import { parseConfig } from "../src/config/parse.ts";
import { startCluster } from "./helpers/cluster.ts";
import { TEST_URL } from "./helpers/db.ts";
import { freePort, silentServer } from "./helpers/net.ts";

const ROOT = new URL("..", import.meta.url).pathname;
// The doctor reads DATABASE_URL, DEWEY_CONFIG, DB_* and PG* from the environment: none of ours leak in.
const BASE_ENV = Object.fromEntries(
  Object.entries(Deno.env.toObject()).filter(([k]) => !/^(DATABASE_URL|DEWEY_CONFIG|DB_|PG)/.test(k)),
);

interface Run {
  code: number;
  out: string;
  err: string;
}

async function doctor(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}doctor/mod.ts`, ...args],
    cwd,
    env: { ...BASE_ENV, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  // The text report wraps long lines (continuations indented 4, 11 or 13): join them back to match on.
  const flat = args.includes("--json") ? out : out.replace(/\n( {13}| {11}| {4})(?=\S)/g, " ");
  return { code, out: flat, err: new TextDecoder().decode(stderr) };
}

// deno-lint-ignore no-explicit-any
function json(run: Run): any {
  return JSON.parse(run.out);
}

const withParams = (url: string, params: string) => `${url}${url.includes("?") ? "&" : "?"}${params}`;

Deno.test("doctor: a healthy server passes every step and exits 0; --json carries the same report", async () => {
  const text = await doctor([TEST_URL]);
  assert.equal(text.code, 0, text.out + text.err);
  for (const line of [/✓ tcp {6}connected to/, /✓ auth {5}as user \S+ to database/, /✓ server {3}PostgreSQL \d+/]) {
    assert.match(text.out, line);
  }
  assert.match(text.out, /✓ latency {2}round trip [\d.]+ ms \(median of 5/);
  assert.match(text.out, /✓ pool_max 10 fits: the server allows user/);
  assert.match(text.out, /\n {2}host +127\.0\.0\.1 +url\n/);
  assert.match(text.out, /\nhealthy/);

  const run = await doctor([withParams(TEST_URL, "pool_max=5000&connect_timeout=3"), "--json"]);
  assert.equal(run.code, 0, run.out + run.err);
  const report = json(run);
  assert.equal(report.ok, true);
  assert.equal(report.exitCode, 0);
  assert.deepEqual(report.hosts[0].steps.map((s: { name: string }) => s.name), [
    "dns",
    "tcp",
    "tls",
    "auth",
    "server",
    "latency",
  ]);
  assert.ok(report.server.maxConnections > 0);
  assert.equal(report.config.find((e: { key: string }) => e.key === "pool_max").source, "url");
  assert.equal(report.config.find((e: { key: string }) => e.key === "connect_timeout").value, "3s");
  const pool = report.pool.find((f: { level: string }) => f.level === "warn");
  assert.match(pool.message, /pool_max 5000 is more than the \d+ connections the server allows/);
  assert.ok(!report.warnings.some((w: { key: string }) => w.key === "connect_timeout"));
  assert.match(report.summary, /^healthy \(1 warning\)$/);

  // Reachable, but not what target_session_attrs asks for: the application could not connect.
  const standby = await doctor([withParams(TEST_URL, "target_session_attrs=standby&connect_timeout=3")]);
  assert.equal(standby.code, 1, standby.out + standby.err);
  assert.match(standby.out, /! 127\.0\.0\.1:\d+ is a primary, so target_session_attrs=standby \(url\) skips it/);
  assert.match(standby.out, /\nunhealthy: no server matches target_session_attrs=standby/);
});

Deno.test("doctor: nothing listening stops at tcp with the cause and a fix, exit 1", async () => {
  const port = freePort();
  const run = await doctor([`postgres://postgres@127.0.0.1:${port}/test`]);
  assert.equal(run.code, 1, run.out + run.err);
  assert.match(run.out, /✗ tcp {6}connection refused \(ECONNREFUSED\)/);
  assert.match(run.out, new RegExp(`cause: nothing listens on 127\\.0\\.0\\.1:${port}`));
  assert.match(run.out, /fix: {3}start PostgreSQL, or correct port \(url\)/);
  assert.doesNotMatch(run.out, /auth {5}/);
  assert.match(run.out, /\nunhealthy: tcp failed for 127\.0\.0\.1:\d+/);
});

Deno.test("doctor: a server that accepts TCP and never answers times out at the TLS request", async () => {
  await using silent = silentServer();
  const run = await doctor([`postgres://postgres@127.0.0.1:${silent.port}/test?connect_timeout=1`, "--json"]);
  assert.equal(run.code, 1, run.out + run.err);
  const steps = json(run).hosts[0].steps;
  assert.deepEqual(steps.map((s: { status: string }) => s.status), ["skip", "ok", "fail"]);
  assert.equal(steps[2].name, "tls");
  assert.equal(steps[2].code, "CONNECT_TIMEOUT");
  assert.match(steps[2].detail, /no answer to the TLS request within connect_timeout \(1 s\)/);
  assert.match(steps[2].cause, /may not be PostgreSQL/);
  assert.ok(silent.accepted >= 1);
});

Deno.test("doctor: wrong password and pg_hba rejection explained; no password ever printed", async () => {
  const password = "right-horse-battery-7";
  const wrong = "wrong-staple-9";
  await using pg = await startCluster({
    password,
    hba: ["local all all trust", "host postgres all 127.0.0.1/32 scram-sha-256"],
  });
  const dir = await Deno.makeTempDir({ prefix: "dewey-doctor-" });
  try {
    const file = `${dir}/dewey.yaml`;
    await Deno.writeTextFile(
      file,
      `database:\n  postgres:\n    host: 127.0.0.1\n    port: ${pg.port}\n    dbname: \${DB_NAME:-postgres}\n` +
        `    user: postgres\n    password: \${DB_PASSWORD}\n    connect_timeout: 5s\n`,
    );

    const bad = await doctor([file], { DB_PASSWORD: wrong });
    assert.equal(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, /✗ auth {5}.*password authentication failed/);
    assert.match(bad.out, /cause: the server rejected the password of user postgres/);
    assert.match(bad.out, /fix: {3}check the password \(env DB_PASSWORD \(.*dewey\.yaml:7\)\)/);

    const hba = await doctor([file], { DB_PASSWORD: password, DB_NAME: "template1" });
    assert.equal(hba.code, 1, hba.out + hba.err);
    assert.match(hba.out, /✗ auth .*no pg_hba\.conf entry/);
    assert.match(
      hba.out,
      /cause: the server's pg_hba\.conf has no line letting user postgres connect to database template1/,
    );

    const good = await doctor([file, "--json"], { DB_PASSWORD: password });
    assert.equal(good.code, 0, good.out + good.err);
    const entry = json(good).config.find((e: { key: string }) => e.key === "password");
    assert.deepEqual(entry, {
      key: "password",
      value: "***",
      source: `env DB_PASSWORD (${file}:7)`,
      description: "Password; hidden wherever the configuration could be printed.",
    });

    // A Unix socket directory as host (trusted by the first hba line): no DNS, no TLS, the adapter connects.
    const local = await doctor([`postgres://postgres@/postgres?host=${pg.socketDir}&port=${pg.port}`, "--json"]);
    assert.equal(local.code, 0, local.out + local.err);
    const steps = json(local).hosts[0].steps;
    assert.deepEqual(steps.map((s: { status: string }) => s.status), ["skip", "ok", "skip", "ok", "ok", "ok"]);
    assert.equal(steps[1].detail, `connected to ${pg.socketDir}/.s.PGSQL.${pg.port}`);
    assert.match(steps[2].detail, /is a Unix-domain socket: no TLS there/);
    assert.match(steps[4].detail, /, no TLS$/);

    const viaUrl = await doctor([pg.url("postgres", "postgres", wrong)]);
    assert.equal(viaUrl.code, 1);
    assert.match(viaUrl.out, /@dewey\/db doctor: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    for (const run of [bad, hba, good, viaUrl]) {
      for (const secret of [password, wrong]) {
        assert.ok(!run.out.includes(secret) && !run.err.includes(secret), `a password leaked:\n${run.out}${run.err}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor: an invalid config file exits 2 naming key, problem and line; bad arguments exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dewey-doctor-" });
  try {
    const file = `${dir}/broken.yaml`;
    await Deno.writeTextFile(file, "database:\n  postgres:\n    host: db\n    pool_max: ten\n    pool_mix: 3\n");
    const run = await doctor([file]);
    assert.equal(run.code, 2, run.out + run.err);
    assert.match(
      run.out,
      /✗ database\.postgres\.pool_max: expected an integer of at least 1, found "ten" \(.*broken\.yaml:4\)/,
    );
    assert.match(run.out, /pool_mix.*did you mean "pool_min"/);
    assert.match(run.out, /unhealthy: the configuration is invalid \(2 problems\)/);
    const missing = await doctor([`${dir}/nope.yaml`]);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const usage = await doctor(["--bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /usage: deno task doctor/);
});

Deno.test("doctor checks: risky sslmode off this machine, connect_timeout, a password in a file, pool limits", () => {
  assert.ok(isLocalHost("localhost") && isLocalHost("127.0.0.2") && isLocalHost("::1") && isLocalHost("/run/pg"));
  assert.ok(!isLocalHost("db.example.com") && !isLocalHost("192.168.1.5"));
  const remote = riskWarnings(parseConfig("postgres://app@db.example.com/app?sslmode=require", { env: {} }));
  assert.match(remote.find((f) => f.key === "sslmode")?.message ?? "", /sslmode=require \(url\) for db\.example\.com/);
  assert.ok(remote.some((f) => f.key === "connect_timeout"));
  const safe = riskWarnings(
    parseConfig("postgres://app@db.example.com/app?sslmode=verify-full&sslrootcert=system&connect_timeout=5", {
      env: {},
    }),
  );
  assert.deepEqual(safe, []);
  assert.deepEqual(riskWarnings(parseConfig("postgres://app@localhost/app?connect_timeout=5", { env: {} })), []);
  const inFile = riskWarnings(
    parseConfig({ postgres: { host: "localhost", password: "hunter2", connect_timeout: 5 } }, {
      env: {},
      sources: { "postgres.password": "config/prod.yaml:7" },
    }),
  );
  assert.match(inFile.find((f) => f.key === "password")?.message ?? "", /written into config\/prod\.yaml/);
  assert.ok(!JSON.stringify(inFile).includes("hunter2"));

  const facts = {
    version: "16.4",
    maxConnections: 100,
    superuserReserved: 3,
    reserved: 2,
    inUse: 91,
    superuser: false,
    roleLimit: 5,
    databaseLimit: -1,
    user: "app",
    database: "app",
    inRecovery: false,
  };
  const config = parseConfig("postgres://app@db/app?pool_max=10", { env: {} });
  const found = poolFindings(config, facts);
  assert.match(found[0].message, /only 5 of the 95 connection slots for user app are free now \(90 in use by others\)/);
  assert.match(found[1].message, /pool_max 10 is more than role app's CONNECTION LIMIT 5/);
  assert.equal(poolFindings(config, { ...facts, inUse: 1, roleLimit: -1 })[0].level, "ok");
});
