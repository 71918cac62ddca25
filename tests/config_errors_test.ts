/**
 * Bad input: each case asserts a ConfigError, the issue's key path, its
 * source (file line, env var, URL) and that the test password shows nowhere.
 */

import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../mod.ts";
import { assertConfigError, loadYaml, password, rejectsConfigError, throwsConfigError } from "./_config_helpers.ts";

/** A YAML file whose postgres section is `lines` (from line 3), with a password set on line 3. */
function yaml(pw: string, ...lines: string[]): string {
  return ["database:", "  postgres:", `    password: "${pw}"`, ...lines.map((l) => `    ${l}`), ""].join("\n");
}

Deno.test("bad YAML syntax: an unterminated quote, at its line", async () => {
  const pw = password();
  const { error, file } = await loadYaml(
    ["database:", "  postgres:", "    host: db", `    password: "${pw}`, "    port: 5"].join("\n"),
  );
  assertConfigError(error, {
    path: "database.postgres.password",
    source: `${file}:4`,
    message: /^YAML syntax error: Missing closing "quote/,
  });
});

Deno.test("bad YAML syntax: a duplicate key and a bad indent", async () => {
  const pw = password();
  const dup = await loadYaml(yaml(pw, "port: 5432", "port: 5433"));
  assertConfigError(dup.error, { path: "database.postgres.port", source: `${dup.file}:5`, message: /unique/ });
  const indent = await loadYaml(`database:\n  postgres:\n    password: "${pw}"\n    host: [a,\n`);
  assertConfigError(indent.error, { path: "database.postgres.host", message: /^YAML syntax error/ });
});

Deno.test("a YAML document that is not a mapping", async () => {
  const { error } = await loadYaml("- just\n- a list\n");
  assertConfigError(error, { path: "database", message: /^expected a mapping, found a list$/ });
  throwsConfigError(() => parseConfig({ database: { postgres: "host=db" } }, { env: {} }), {
    path: "database.postgres",
    message: /expected a mapping, found a string/,
  });
});

Deno.test("missing env var: named, with the file line", async () => {
  const pw = password();
  const { error, file } = await loadYaml(
    yaml(pw, "host: ${DB_HOST}", "dbname: ${DB_NAME:?set DB_NAME to the database}"),
  );
  assertConfigError(
    error,
    { path: "database.postgres.host", source: `${file}:4`, message: /^missing required environment variable DB_HOST$/ },
    { path: "database.postgres.dbname", source: `${file}:5`, message: /^set DB_NAME to the database \(.*not set\)$/ },
  );
});

Deno.test("a broken reference in a password does not leak it", async () => {
  const pw = password();
  const { error, file } = await loadYaml(["database:", "  postgres:", `    password: "${pw}\${oops"`].join("\n"));
  assertConfigError(error, { path: "database.postgres.password", source: `${file}:3`, message: /^unterminated/ });
  throwsConfigError(() => parseConfig({ password: `${pw}\${9}` }, { env: {} }), {
    path: "database.postgres.password",
    message: /^invalid variable reference/,
  });
});

Deno.test("wrong type: a mapping where a string goes, a number for a password", () => {
  throwsConfigError(
    () => parseConfig({ password: 12345, dbname: { name: "x" }, user: ["a"], host: { a: 1 } }, { env: {} }),
    {
      path: "database.postgres.password",
      message: /^expected a non-empty string, found a number \(quote it in YAML\)$/,
    },
    { path: "database.postgres.dbname", message: /^expected a non-empty string, found a mapping$/ },
    { path: "database.postgres.user", message: /found a list$/ },
    { path: "database.postgres.host", message: /^expected a host or a list of them, found a mapping$/ },
  );
  const err = throwsConfigError(() => parseConfig({ password: { value: password() } }, { env: {} }), {
    path: "database.postgres.password",
    message: /found a mapping$/,
  });
  assert.equal(err.issues.length, 1);
});

Deno.test('"54x" port, from an env var through the file', async () => {
  const pw = password();
  const { error, file } = await loadYaml(yaml(pw, "port: ${DB_PORT}"), { DB_PORT: "54x" });
  assertConfigError(error, {
    path: "database.postgres.port",
    source: `env DB_PORT (${file}:4)`,
    message: /^expected a port number from 1 to 65535, found "54x"$/,
  });
  throwsConfigError(() => parseConfig({ password: pw }, { env: { PGPORT: "54x" } }), {
    path: "database.postgres.port",
    source: "PGPORT",
  });
});

Deno.test("port out of range, in a list item", async () => {
  const pw = password();
  const { error, file } = await loadYaml(yaml(pw, "host: [a, b]", "port:", "  - 5432", "  - 70000"));
  assertConfigError(error, { path: "database.postgres.port[1]", source: `${file}:7`, message: /found 70000$/ });
  throwsConfigError(() => parseConfig({ port: 0 }, { env: {} }), {
    path: "database.postgres.port",
    message: /found 0$/,
  });
});

Deno.test("pool_min > pool_max", async () => {
  const pw = password();
  const { error, file } = await loadYaml(yaml(pw, "pool_min: 20", "pool_max: 10"));
  assertConfigError(error, {
    path: "database.postgres.pool_min",
    source: `${file}:4`,
    message: /^expected at most pool_max \(10\), found 20$/,
  });
  throwsConfigError(() => parseConfig({ pool_min: 11 }, { env: {} }), {
    path: "database.postgres.pool_min",
    source: "object",
  });
  throwsConfigError(() => parseConfig({ reconnect_backoff_base: "20s" }, { env: {} }), {
    path: "database.postgres.reconnect_backoff_base",
    message: /expected at most reconnect_backoff_max/,
  });
});

Deno.test("negative pool size, pool_max < 1", () => {
  const err = throwsConfigError(
    () => parseConfig({ pool_min: -1, pool_max: 0, password: password() }, { env: {} }),
    { path: "database.postgres.pool_min", message: /^expected an integer of at least 0, found -1$/ },
    { path: "database.postgres.pool_max", message: /^expected an integer of at least 1, found 0$/ },
  );
  assert.equal(err.issues.length, 2, "no spurious pool_min > pool_max on top");
  throwsConfigError(() => parseConfig({ pool_max: "2.5" }, { env: {} }), { path: "database.postgres.pool_max" });
});

Deno.test("unknown sslmode, with did-you-mean", async () => {
  const pw = password();
  const { error, file } = await loadYaml(yaml(pw, "sslmode: requir"));
  assertConfigError(error, {
    path: "database.postgres.sslmode",
    source: `${file}:4`,
    message:
      /^expected one of disable, allow, prefer, require, verify-ca, verify-full, found "requir" \(did you mean "require"\?\)$/,
  });
});

Deno.test("unknown keys, with did-you-mean, at their lines", async () => {
  const pw = password();
  const { error, file } = await loadYaml(
    [
      "database:",
      "  postgress: {}",
      "  postgres:",
      `    password: "${pw}"`,
      "    pool_mx: 3",
      "    database: x",
      "    colour: red",
    ]
      .join("\n"),
  );
  assertConfigError(
    error,
    { path: "database.postgress", source: `${file}:2`, message: /did you mean "postgres"/ },
    {
      path: "database.postgres.pool_mx",
      source: `${file}:5`,
      message: /^unknown key "pool_mx" \(did you mean "pool_max"\?\)$/,
    },
    { path: "database.postgres.database", source: `${file}:6`, message: /did you mean "dbname"/ },
    { path: "database.postgres.colour", source: `${file}:7`, message: /^unknown key "colour"$/ },
  );
});

Deno.test("a postgres.js-style key in a flat section gets a hint", () => {
  throwsConfigError(() => parseConfig({ host: "db", database: "shop", username: "app" }, { env: {} }), {
    path: "database.postgres.database",
    message: /did you mean "dbname"/,
  }, { path: "database.postgres.username", message: /did you mean "user"/ });
});

Deno.test("bad duration, and one too long for a timer", () => {
  throwsConfigError(
    () => parseConfig({ connect_timeout: "10 parsecs", pool_idle_timeout: "30d", pre_ping: "often" }, { env: {} }),
    { path: "database.postgres.connect_timeout", message: /^expected a duration such as .*, found "10 parsecs"$/ },
    { path: "database.postgres.pool_idle_timeout", message: /at most 24.8 days/ },
    { path: "database.postgres.pre_ping", message: /^expected true, false or a duration, found "often"$/ },
  );
});

Deno.test("bad boolean", () => {
  throwsConfigError(
    () => parseConfig({ keepalives: "maybe", neon_http: 2 }, { env: {} }),
    { path: "database.postgres.keepalives", message: /^expected true or false, found "maybe"$/ },
    { path: "database.postgres.neon_http", message: /found 2$/ },
  );
});

Deno.test("missing DEWEY_CONFIG file, and a missing explicit file", async () => {
  await rejectsConfigError(loadConfig(undefined, { env: { DEWEY_CONFIG: "/nonexistent/dewey.yaml" } }), {
    path: "database",
    source: "env DEWEY_CONFIG",
    message: /^config file "\/nonexistent\/dewey.yaml" not found$/,
  });
  await rejectsConfigError(loadConfig("/nonexistent/app.yaml", { env: {} }), {
    path: "database",
    source: "loadConfig argument",
  });
});

Deno.test("bad URLs: scheme, raw slash in the password, percent-encoding, IPv6, query", async () => {
  const pw = password();
  throwsConfigError(() => parseConfig(`http://app:${pw}@db/shop`, { env: {} }), {
    path: "database.postgres",
    source: "url",
    message: /found a http:\/\/ URL$/,
  });
  await rejectsConfigError(loadConfig(undefined, { env: { DATABASE_URL: `postgres://app:${pw}/x@db/shop` } }), {
    path: "database.postgres.password",
    source: "DATABASE_URL",
    message: /unencoded "\/"/,
  });
  throwsConfigError(() => parseConfig(`postgres://app:${pw}%zz@db/shop`, { env: {} }), {
    path: "database.postgres.password",
    message: /percent-encoding/,
  });
  throwsConfigError(() => parseConfig(`postgres://app:${encodeURIComponent(pw)}@[::1/shop`, { env: {} }), {
    path: "database.postgres.host",
  });
  throwsConfigError(
    () => parseConfig(`postgres://app:${encodeURIComponent(pw)}@db:54x/shop?pool_mx=2&sslmode`, { env: {} }),
    {
      path: "database.postgres.port",
      source: "url",
      message: /found "54x"/,
    },
    { path: "database.postgres.pool_mx", message: /did you mean "pool_max"/ },
    {
      path: "database.postgres.sslmode",
      message: /expected "sslmode=value"/,
    },
  );
  throwsConfigError(() => parseConfig("db.example.com", { env: {} }), {
    path: "database.postgres",
    message: /without a scheme/,
  });
});

Deno.test("mismatched host/port list lengths", () => {
  throwsConfigError(() => parseConfig({ host: "a,b,c", port: "1,2", password: password() }, { env: {} }), {
    path: "database.postgres.port",
    message: /^expected one port for all hosts or one per host \(3 hosts\), found 2 ports$/,
  });
  throwsConfigError(() => parseConfig({ host: ["a", "b", "c"] }, { env: { PGPORT: "1,2" } }), {
    path: "database.postgres.port",
    source: "PGPORT",
    message: /found 2 ports$/,
  });
});

Deno.test("bad target_session_attrs, load_balance_hosts, driver, pooler", () => {
  throwsConfigError(
    () =>
      parseConfig({ target_session_attrs: "read_write", load_balance_hosts: "yes", driver: "mysql", pooler: "txn" }, {
        env: {},
      }),
    { path: "database.postgres.target_session_attrs", message: /did you mean "read-write"/ },
    { path: "database.postgres.load_balance_hosts", message: /^expected one of disable, random, found "yes"$/ },
    { path: "database.postgres.driver", message: /^expected one of postgres, neon, pglite, found "mysql"$/ },
    { path: "database.postgres.pooler", message: /^expected one of transaction, statement, session, none/ },
  );
});

Deno.test("bad replicas: port, unknown key, wrong type", async () => {
  const pw = password();
  const { error, file } = await loadYaml(yaml(pw, "replicas:", "  - r1:x", "  - { host: r2, prot: 1 }", "  - 5"));
  assertConfigError(
    error,
    { path: "database.postgres.replicas[0].port", source: `${file}:5`, message: /found "x"$/ },
    { path: "database.postgres.replicas[1]", source: `${file}:6`, message: /unknown key "prot"/ },
    { path: "database.postgres.replicas[2]", source: `${file}:7`, message: /found 5$/ },
  );
});

Deno.test("an alias set together with its key", () => {
  throwsConfigError(() => parseConfig({ data_dir: "/a", dataDir: "/b" }, { env: {} }), {
    path: "database.postgres.dataDir",
    message: /"dataDir" and "data_dir" are the same setting/,
  });
  throwsConfigError(() => parseConfig({ pgbouncer: true, pooler: "session" }, { env: {} }), {
    path: "database.postgres.pooler",
  });
});

Deno.test("every problem is listed at once, in one error", async () => {
  const pw = password();
  const { error } = await loadYaml(
    yaml(pw, "host: ${DB_HOST}", "port: 54x", "sslmode: nope", "pool_min: -2", "pool_mx: 1", "keepalives: maybe"),
  );
  const err = assertConfigError(
    error,
    { path: "database.postgres.host" },
    { path: "database.postgres.port" },
    { path: "database.postgres.sslmode" },
    { path: "database.postgres.pool_min" },
    { path: "database.postgres.pool_mx" },
    { path: "database.postgres.keepalives" },
  );
  assert.equal(err.issues.length, 6);
  assert.equal(err.name, "ConfigError");
  assert.match(String(err), /^ConfigError: invalid database configuration:\n {2}- database\.postgres\./);
});
