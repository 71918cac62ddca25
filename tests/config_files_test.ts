/** libpq's files as configuration: the password file, service files, the default socket (no server). */

import assert from "node:assert/strict";
import { NODE_PLATFORM, NODE_RUNTIME, parseConfig } from "../mod.ts";
import { libpqFiles } from "../src/config/libpq_files.ts";
import { matchPgpass } from "../src/config/pgpass.ts";
import { assertNoSecret, assertSafeConfig, password, tempFiles, throwsConfigError } from "./_config_helpers.ts";

/** A directory with `files` (mode 0600 unless given) to serve as `$HOME`. */
async function home(files: Record<string, string | [string, number]>) {
  const plain = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? v : v[0]]));
  const tmp = await tempFiles(plain);
  for (const [name, v] of Object.entries(files)) {
    await Deno.chmod(`${tmp.dir}/${name}`, typeof v === "string" ? 0o600 : v[1]);
  }
  return tmp;
}

Deno.test("password file: libpq's matching rules (fields, *, escapes, comments, the first match)", () => {
  const text = [
    "# a comment: db:5432:*:app:nope",
    "",
    "other:5432:*:*:other",
    "db:5433:shop:app:port-5433",
    "db:*:shop:app:p\\:w\\\\d:ignored",
    "db\\:x:*:*:*:escaped-host",
    "localhost:5432:*:*:local",
    "*:*:*:*:anything",
  ].join("\r\n");
  const m = (host: string, port: number, dbname = "shop", user = "app") =>
    matchPgpass(text, { host, port, dbname, user });
  assert.deepEqual(m("db", 5433), { password: "port-5433", line: 4 });
  assert.deepEqual(m("db", 5432), { password: "p:w\\d", line: 5 });
  assert.equal(m("", 5432)?.password, "local", "no host matches localhost");
  assert.equal(m("/var/run/postgresql", 5432)?.password, "local", "so does the default socket directory");
  assert.equal(m("/srv/pg", 5432)?.password, "anything", "another socket directory is matched as written");
  assert.equal(m("zzz", 1, "x", "y")?.line, 8);
  assert.equal(matchPgpass(text, { host: "db", port: 5432, dbname: "", user: "app" }), undefined, "no dbname");
});

Deno.test("password file: used when no password is set, with its line as the source; a secret like any other", async () => {
  const pw = password();
  await using tmp = await home({ ".pgpass": `db.example.com:5432:shop:app:${pw}\n*:*:*:*:other-${pw}\n` });
  const env = { HOME: tmp.dir };
  const config = parseConfig("postgres://app@db.example.com/shop", { env });
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.sources.password, `${tmp.dir}/.pgpass:1`);
  assert.equal(config.passfile, `${tmp.dir}/.pgpass`);
  assert.equal(config.sources.passfile, "default (~/.pgpass)");
  assertSafeConfig(config);
  const explicit = parseConfig(`postgres://app:given-${pw}@db.example.com/shop`, { env });
  assert.equal(explicit.password?.reveal(), `given-${pw}`, "a password set anywhere wins");
  // Per host, as libpq: the second host takes its own line; the first one's goes into config.password.
  const two = parseConfig("postgres://app@db.example.com,replica.example.com/shop", { env });
  assert.equal(two.password?.reveal(), pw);
  assert.equal(two.hosts[1].password?.reveal(), `other-${pw}`);
  assertNoSecret(two);
});

Deno.test("password file: passfile and PGPASSFILE name it; group- or world-readable files are ignored, and said so", async () => {
  const pw = password();
  await using tmp = await home({ "mine": `*:*:*:*:${pw}\n`, "open": [`*:*:*:*:${pw}\n`, 0o644] });
  const viaKey = parseConfig(`postgres://app@db/shop?passfile=${tmp.dir}/mine`, { env: {} });
  assert.equal(viaKey.password?.reveal(), pw);
  assert.equal(viaKey.sources.passfile, "url");
  const viaEnv = parseConfig("postgres://app@db/shop", { env: { PGPASSFILE: `${tmp.dir}/mine` } });
  assert.equal(viaEnv.sources.password, `${tmp.dir}/mine:1`);
  const open = parseConfig("postgres://app@db/shop", { env: { PGPASSFILE: `${tmp.dir}/open` } });
  assert.equal(open.password, undefined);
  assert.match(
    open.sources.password,
    /password file .*open ignored: it has group or world access; permissions should be u=rw \(0600\) or less/,
  );
  const missing = parseConfig("postgres://app@db/shop", { env: { PGPASSFILE: `${tmp.dir}/none` } });
  assert.match(missing.sources.password, /does not exist/);
  const nothing = parseConfig("postgres://app@db/shop", { env: { HOME: tmp.dir } });
  assert.equal(nothing.sources.password, undefined, "no ~/.pgpass: nothing to say");
});

Deno.test("service files: ~/.pg_service.conf, PGSERVICEFILE, PGSYSCONFDIR; the source's keys win, PG* lose", async () => {
  const pw = password();
  const conf = [
    "# services",
    "[other]",
    "host=elsewhere",
    "",
    "[app]",
    "host=db.example.com",
    "port=6432",
    "dbname=shop",
    `password=${pw}`,
    "sslmode=verify-full",
    "sslrootcert=system",
  ].join("\n");
  await using tmp = await home({ ".pg_service.conf": conf, "system.conf": "[sys]\nhost=sys.example.com\n" });
  const env = { HOME: tmp.dir, PGPORT: "7000", PGAPPNAME: "from-env" };
  const c = parseConfig("postgres://app@/?service=app&dbname=override", { env });
  assert.equal(c.host, "db.example.com");
  assert.equal(c.port, 6432, "the service file is above PG* variables");
  assert.equal(c.dbname, "override", "the source is above the service file");
  assert.equal(c.application_name, "from-env");
  assert.equal(c.password?.reveal(), pw);
  assert.equal(c.service, "app");
  assert.equal(c.sources.host, `${tmp.dir}/.pg_service.conf:6 [app]`);
  assertSafeConfig(c);
  const viaEnv = parseConfig({}, { env: { HOME: tmp.dir, PGSERVICE: "app" } });
  assert.equal(viaEnv.host, "db.example.com");
  await Deno.writeTextFile(`${tmp.dir}/pg_service.conf`, "[sys]\nhost=sys.example.com\n");
  const system = parseConfig("service=sys", { env: { HOME: `${tmp.dir}/elsewhere`, PGSYSCONFDIR: tmp.dir } });
  assert.equal(system.host, "sys.example.com");
});

Deno.test("service files: a missing service or file, a nested service, an unknown key: errors with their line", async () => {
  await using tmp = await home({
    ".pg_service.conf": "[nested]\nservice=other\n[typo]\nhots=db\n[bad]\njust words\n",
  });
  const env = { HOME: tmp.dir, PGSYSCONFDIR: tmp.dir };
  const conf = `${tmp.dir}/.pg_service.conf`;
  throwsConfigError(() => parseConfig("service=none", { env }), {
    path: "database.postgres.service",
    message: /definition of service "none" not found \(looked in .*\.pg_service\.conf and .*pg_service\.conf\)/,
  });
  throwsConfigError(() => parseConfig("service=x", { env: { PGSERVICEFILE: `${tmp.dir}/gone.conf` } }), {
    path: "database.postgres.service",
    message: /service file ".*gone\.conf" not found/,
    source: "PGSERVICEFILE",
  });
  throwsConfigError(() => parseConfig("service=nested", { env }), {
    path: "database.postgres",
    message: /nested service specifications are not supported/,
    source: `${conf}:2 [nested]`,
  });
  throwsConfigError(() => parseConfig("service=typo", { env }), {
    path: "database.postgres.hots",
    message: /unknown key "hots" \(did you mean "host"\?\)/,
    source: `${conf}:4 [typo]`,
  });
  throwsConfigError(() => parseConfig("service=bad", { env }), {
    path: "database.postgres",
    message: /expected "keyword=value"/,
    source: `${conf}:6 [bad]`,
  });
});

Deno.test("the default host: the socket in libpq's default directory when it exists, else localhost, and which", () => {
  const socket = (present: string | undefined) =>
    libpqFiles({
      readTextFileSync: () => "",
      statSync: (path) => path === present ? { kind: "socket", mode: 0o777 } : undefined,
    });
  const found = parseConfig({ user: "app", port: 5433 }, {
    env: {},
    files: socket("/var/run/postgresql/.s.PGSQL.5433"),
  });
  assert.equal(found.host, "/var/run/postgresql");
  assert.equal(found.sources.host, "default (the Unix socket /var/run/postgresql/.s.PGSQL.5433 exists)");
  const tmp = parseConfig({}, { env: {}, files: socket("/tmp/.s.PGSQL.5432") });
  assert.equal(tmp.host, "/tmp");
  const none = parseConfig({}, { env: {}, files: socket(undefined) });
  assert.equal(none.host, "localhost");
  assert.equal(
    none.sources.host,
    "default (no Unix socket at /var/run/postgresql/.s.PGSQL.5432 or /tmp/.s.PGSQL.5432)",
  );
  const neon = parseConfig({ driver: "neon" }, { env: {}, files: socket("/tmp/.s.PGSQL.5432") });
  assert.equal(neon.host, "localhost", "only the postgres adapter dials sockets");
  assert.equal(parseConfig({ host: "db" }, { env: {}, files: socket("/tmp/.s.PGSQL.5432") }).host, "db");
});

Deno.test("the Deno/Node runtime reads them: NODE_RUNTIME.libpqFiles, NODE_PLATFORM's synchronous reads", async () => {
  assert.ok(NODE_RUNTIME.libpqFiles);
  await using tmp = await home({ "f.txt": "hello" });
  assert.equal(NODE_PLATFORM.readTextFileSync?.(`${tmp.dir}/f.txt`), "hello");
  assert.deepEqual(NODE_PLATFORM.statSync?.(`${tmp.dir}/f.txt`), { kind: "file", mode: 0o600 });
  assert.equal(NODE_PLATFORM.statSync?.(`${tmp.dir}/nothing`), undefined);
  assert.equal(NODE_PLATFORM.statSync?.(tmp.dir)?.kind, "directory");
});
