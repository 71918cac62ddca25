/**
 * Secrets in bad input: a mistyped URL is a URL (never a file path) and is
 * refused without its credentials; YAML key paths never hold a value and the
 * parser's messages are hidden on a secret's lines; a pglite:// URL with
 * credentials is refused. Each case asserts the ConfigError and that the
 * password shows nowhere (message, issues, stack, inspect).
 */

import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../mod.ts";
import {
  assertConfigError,
  assertSafeConfig,
  loadYaml,
  password,
  rejectsConfigError,
  throwsConfigError,
} from "./_config_helpers.ts";

const MISTYPED: [prefix: string, message: RegExp][] = [
  ["postgres:/", /^expected "postgres:\/\/" at the start of the URL, found "postgres:\/"$/],
  ["postgres:://", /^expected "postgres:\/\/" at the start of the URL, found "postgres::\/\/"$/],
  ["postgres:", /found "postgres:"$/],
  ["postgres//", /found "postgres\/\/"$/],
  ["postgres:\\\\", /found "postgres:\\\\"$/],
  ["postgresql:/", /^expected "postgresql:\/\/" at the start/],
  ["Postgres:/", /^expected "postgres:\/\/" at the start of the URL, found "Postgres:\/"$/],
  ["postgress://", /^unknown URL scheme "postgress" \(did you mean "postgres:\/\/"\?\)$/],
  ["postgre://", /did you mean "postgres:\/\/"/],
  ["postgresql+psycopg2://", /did you mean "postgresql:\/\/"/],
  ["pg://", /did you mean "postgres:\/\/"/],
  ["pglite:/", /^expected "pglite:\/\/" at the start/],
  ["jdbc:postgresql://", /found a JDBC URL; remove "jdbc:"/],
  ["mysql://", /found a mysql:\/\/ URL$/],
  ['"postgres://', /in quotes; remove the quotes/],
  ["//", /found text without a scheme$/],
  ["", /found text without a scheme$/],
];

Deno.test("a mistyped URL is refused as a URL, never looked for as a file, its password masked", async () => {
  for (const [prefix, message] of MISTYPED) {
    const pw = password();
    const url = `${prefix}app:${pw}@db:5432/app`;
    const expected = { path: "database.postgres", message };
    throwsConfigError(() => parseConfig(url, { env: {} }), { ...expected, source: "url" });
    const fromLoad = await rejectsConfigError(loadConfig(url, { env: {} }), expected);
    assert.ok(!fromLoad.message.includes("config file"), `${url} was taken for a file: ${fromLoad.message}`);
    await rejectsConfigError(loadConfig(undefined, { env: { DATABASE_URL: url } }), {
      ...expected,
      source: "DATABASE_URL",
    });
  }
});

Deno.test('an empty connection string (an unset variable read with ?? "") is called empty, not schemeless', () => {
  throwsConfigError(() => parseConfig("", { env: {} }), {
    path: "database.postgres",
    message: /found an empty string \(is the variable that should hold it, e.g. DATABASE_URL, set\?\)$/,
    source: "url",
  });
});

Deno.test("a URL in DEWEY_CONFIG, a path that holds credentials: masked, whatever their length", async () => {
  const pw = password();
  await rejectsConfigError(loadConfig(undefined, { env: { DEWEY_CONFIG: `postgres:/app:${pw}@db/app` } }), {
    path: "database",
    source: "env DEWEY_CONFIG",
    message: /^expected a config file path, found a connection string; set DATABASE_URL to it$/,
  });
  const err = await rejectsConfigError(loadConfig("/nonexistent/app:µ@db/x.yaml", { env: {} }), {
    path: "database",
    message: /^config file "\/nonexistent\/app:\*\*\*@db\/x.yaml" not found$/,
  });
  assert.ok(!err.message.includes("µ"));
});

Deno.test("surrounding spaces are no mistake; an SQLAlchemy-style or uppercase scheme is", () => {
  const pw = password();
  const config = parseConfig(`  postgres://app:${encodeURIComponent(pw)}@db/app\n`, { env: {} });
  assert.equal(config.password?.reveal(), pw);
  assertSafeConfig(config);
  assert.equal(parseConfig("POSTGRESQL://db/app", { env: {} }).host, "db");
});

Deno.test("keyword/value strings are libpq's, never looked for as files; their secrets masked in errors", async () => {
  const pw = password();
  const config = parseConfig(`host=db dbname=app password='a b ${pw}'`, { env: {} });
  assert.equal(config.password?.reveal(), `a b ${pw}`);
  assertSafeConfig(config);
  assert.equal((await loadConfig(`host=db port=6432 dbname=app`, { env: {} })).port, 6432);
  for (
    const [text, path] of [
      [`host=db password='a b ${pw}`, "database.postgres.password"], // unterminated quote
      [`dbname=app password=${pw} x`, "database.postgres.password"], // the rest of an unquoted password
      [`host=db pool_max=0 password=${pw}`, "database.postgres.pool_max"],
      [`psql host=db password=${pw}`, "database.postgres"],
    ]
  ) {
    throwsConfigError(() => parseConfig(text, { env: {} }), { path });
    await rejectsConfigError(loadConfig(text, { env: {} }), { path });
  }
});

Deno.test("a raw '/', '?' or '&' in a URL's password: refused without quoting any piece of it", () => {
  const stem = "S3cret-Pw!";
  for (
    const url of [
      `postgres://app:${stem}a/bcdefgh@db/app`,
      `postgres://app:${stem}a/b?cdefgh@db/app`,
      `postgres://app:${stem}a?b/cdefgh@db`,
    ]
  ) {
    const err = throwsConfigError(() => parseConfig(url, { env: {} }), {
      path: "database.postgres.password",
      message: /unencoded "\/" or "\?"/,
    });
    assert.ok(!/bcdefgh|cdefgh/.test(err.message), err.message);
  }
  const err = throwsConfigError(() => parseConfig(`postgres://db/app?password=${stem}&tail-piece`, { env: {} }), {
    path: "database.postgres.password",
    message: /unencoded "&"/,
  });
  assert.ok(!err.message.includes("tail-piece"));
});

Deno.test("a URL given as a host is refused without quoting it", () => {
  const pw = password();
  throwsConfigError(() => parseConfig({ host: `postgres://app:${pw}@db/app` }, { env: {} }), {
    path: "database.postgres.host",
    message: /^expected a host name, found a URL or user@host$/,
  });
});

Deno.test("YAML: a value after the password's colon never becomes part of a key path", async () => {
  const pw = password();
  const compact = await loadYaml(`database:\n  postgres:\n    password: ${pw}: x\n`);
  assertConfigError(compact.error, {
    path: "database.postgres.password",
    source: `${compact.file}:3`,
    message: /^YAML syntax error: /,
  });
  const indented = await loadYaml(`database:\n  password: ${pw}\n   sslmode: require\n`);
  const err = assertConfigError(indented.error, { path: "database.password", source: `${indented.file}:2` });
  assert.ok(err.issues.every((i) => !i.path.includes("sslmode")), "no piece of the value in a path");
});

Deno.test("YAML: parser messages that quote the document are hidden on a secret's lines", async () => {
  const pw = password();
  for (
    const [value, message] of [
      [`!${pw}`, /^YAML syntax error: a value starting with "!"; quote the value \(in a secret's value\)$/],
      [`"${pw}\\q"`, /invalid escape sequence/],
      [`*${pw}`, /^YAML error: Unresolved alias \(the anchor must be set before the alias\)$/],
      [`@${pw}`, /^YAML syntax error: /],
    ] as const
  ) {
    const { error } = await loadYaml(`database:\n  postgres:\n    password: ${value}\n`);
    assertConfigError(error, { path: (error as { issues: { path: string }[] }).issues[0].path, message });
  }
  const sslkey = await loadYaml(`database:\n  postgres:\n    sslkey: |\n      ${pw}\n     @${pw}\n    host: x\n`);
  assertConfigError(sslkey.error);
});

Deno.test("YAML: a secret that turns into a key (a password on the next line, or ending in ':') is not quoted", async () => {
  const pw = password();
  const cases: [string, string][] = [
    [`database:\n  postgres:\n    password:\n    ${pw}:\n`, "database.postgres"],
    [`database:\n  postgres:\n    password: |\n    ${pw}: x\n`, "database.postgres"],
    [`database:\n  postgres:\n    password:${pw}:\n`, "database.postgres"],
    [`database:\n  postgres:\n    password:\n      ${pw}: x\n`, "database.postgres.password"],
  ];
  for (const [text, path] of cases) {
    const { error, file } = await loadYaml(text);
    assertConfigError(error, { path, message: /^a key inside the value of a secret key/ });
    assert.ok((error as { issues: { source: string }[] }).issues[0].source.startsWith(`${file}:`));
  }
  // A misspelt key after an empty password is still a key, reported by its name.
  const { error } = await loadYaml("database:\n  postgres:\n    password:\n    pool_mx: 3\n");
  assertConfigError(error, { path: "database.postgres.pool_mx", message: /did you mean "pool_max"/ });
});

Deno.test("YAML: a mapping used as a key is reported without its text", async () => {
  const pw = password();
  const { error } = await loadYaml(`database:\n  postgres:\n    ? { password: "${pw}" }\n    : x\n`);
  assertConfigError(error, { path: "database.postgres", message: /^a mapping or list used as a key$/ });
});

Deno.test("pglite:// with credentials is refused; an absolute path with '@' is a path", () => {
  for (const url of ["pglite://app:PW@memory", "pglite://app:PW@/var/lib/x", "pglite://app%3APW%40memory"]) {
    const pw = password();
    throwsConfigError(() => parseConfig(url.replace("PW", pw), { env: {} }), {
      path: "database.postgres.password",
      message: /^a pglite:\/\/ URL takes no user name or password/,
    });
  }
  const config = parseConfig("pglite:///var/lib/app@2", { env: {} });
  assert.equal(config.data_dir, "/var/lib/app@2");
  assert.equal(String(config), "pglite:///var/lib/app@2");
});
