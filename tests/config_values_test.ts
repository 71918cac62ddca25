/** Unit tests of the config building blocks: durations, interpolation, URLs. */

import assert from "node:assert/strict";
import { parseDuration } from "../src/config/duration.ts";
import { interpolate } from "../src/config/interpolate.ts";
import { isUrl, parseUrl, redactUrl } from "../src/config/url.ts";
import { closest } from "../src/config/suggest.ts";

Deno.test("parseDuration: numbers are seconds, strings take units", () => {
  const cases: [unknown, number][] = [
    [30, 30_000],
    [0, 0],
    [0.25, 250],
    ["30", 30_000],
    ["1.5", 1_500],
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1h30m", 5_400_000],
    [" 10 S ", 10_000],
    ["1m 30s", 90_000],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, `${input}`);
});

Deno.test("parseDuration: bad input throws RangeError saying expected and found", () => {
  for (const input of ["", "5x", "-1s", "s", "1.s", "10 parsecs", "1h-5m", -1, NaN, Infinity, true, null, {}]) {
    assert.throws(() => parseDuration(input), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^expected a duration .*, found /);
      return true;
    }, `${String(input)}`);
  }
});

Deno.test("interpolate: every form", () => {
  const env = { HOST: "db", EMPTY: "", PORT: "6432", TRICKY: "${HOST}$$" };
  const ok = (text: string) => {
    const r = interpolate(text, env);
    assert.ok(r.ok, `${text}: ${!r.ok && r.message}`);
    return r;
  };
  assert.equal(ok("${HOST}").value, "db");
  assert.deepEqual(ok("${HOST}:${PORT}").vars, ["HOST", "PORT"]);
  assert.equal(ok("${EMPTY}").value, "");
  assert.equal(ok("${UNSET:-fallback}").value, "fallback");
  assert.equal(ok("${EMPTY:-fallback}").value, "fallback");
  assert.equal(ok("${EMPTY-fallback}").value, "", "without a colon, only unset counts");
  assert.equal(ok("${UNSET-fallback}").value, "fallback");
  assert.equal(ok("${UNSET:-}").value, "");
  assert.equal(ok("${HOST:-fallback}").value, "db");
  assert.equal(ok("${HOST:?needed}").value, "db");
  assert.equal(ok("${EMPTY?needed}").value, "");
  assert.equal(ok("${UNSET:-${HOST}}").value, "db", "defaults may nest");
  assert.equal(ok("${UNSET:-${ALSO_UNSET:-x}}").value, "x");
  assert.equal(ok("${UNSET:-a}b}").value, "ab}");
  assert.equal(ok("$$").value, "$");
  assert.equal(ok("pa$$word").value, "pa$word");
  assert.equal(ok("$${HOST}").value, "${HOST}");
  assert.equal(ok("price: $5 or $").value, "price: $5 or $", "a lone $ stays");
  assert.equal(ok("$HOST").value, "$HOST", "no braces, no interpolation");
  assert.equal(ok("${TRICKY}").value, "${HOST}$$", "env values are never interpolated again");
  assert.deepEqual(ok("${UNSET:-x}").vars, [], "a default used is not an env var");
  assert.equal(ok("no references").value, "no references");
});

Deno.test("interpolate: errors name the variable, never the text", () => {
  const env = { EMPTY: "" };
  const fail = (text: string) => {
    const r = interpolate(text, env);
    assert.ok(!r.ok, text);
    return r.message;
  };
  assert.equal(fail("${DB_HOST}"), "missing required environment variable DB_HOST");
  assert.equal(
    fail("${DB_HOST:?set DB_HOST to the primary}"),
    "set DB_HOST to the primary (environment variable DB_HOST is not set)",
  );
  assert.equal(fail("${EMPTY:?must not be empty}"), "must not be empty (environment variable EMPTY is empty)");
  assert.equal(fail("${EMPTY:?}"), "environment variable EMPTY is empty");
  assert.equal(fail("${UNSET?}"), "environment variable UNSET is not set");
  assert.match(fail("S3cret-Pw!${oops"), /^unterminated "\$\{"/);
  assert.match(fail("${1BAD}"), /^invalid variable reference/);
  assert.match(fail("${}"), /^invalid variable reference/);
  assert.match(fail("${A B}"), /^invalid variable reference/);
  assert.equal(fail("${UNSET:-${INNER}}"), "missing required environment variable INNER");
  for (const text of ["S3cret-Pw!${oops", "${S3cret+Pw}"]) assert.ok(!fail(text).includes("S3cret"));
});

Deno.test("parseUrl: libpq URI components, percent-decoded", () => {
  const { values, issues } = parseUrl("postgresql://app%40corp:p%2Fss%3Aw%40rd@db.example.com:6432/my%20db");
  assert.deepEqual(issues, []);
  assert.deepEqual(values, {
    user: "app@corp",
    password: "p/ss:w@rd",
    host: "db.example.com",
    port: "6432",
    dbname: "my db",
  });
});

Deno.test("parseUrl: unencoded ?, # and @ in a password, as libpq allows", () => {
  assert.deepEqual(parseUrl("postgres://app:S3cret-Pw!?#@db/shop").values, {
    user: "app",
    password: "S3cret-Pw!?#",
    host: "db",
    dbname: "shop",
  });
  assert.equal(parseUrl("postgres://app:p@ss@db/shop").values.password, "p@ss");
});

Deno.test("parseUrl: host lists, IPv6, missing parts", () => {
  assert.deepEqual(parseUrl("postgres://a:5432,b:5433/db").values, {
    host: ["a", "b"],
    port: ["5432", "5433"],
    dbname: "db",
  });
  assert.deepEqual(parseUrl("postgres://a,b:5433/db").values, {
    host: ["a", "b"],
    port: ["5432", "5433"],
    dbname: "db",
  });
  assert.deepEqual(parseUrl("postgres://a,b/db").values, { host: ["a", "b"], dbname: "db" });
  assert.deepEqual(parseUrl("postgres://[::1]:5433,[fe80::1]/db").values, {
    host: ["::1", "fe80::1"],
    port: ["5433", "5432"],
    dbname: "db",
  });
  assert.deepEqual(parseUrl("postgres://%2Fvar%2Frun%2Fpostgresql/db").values, {
    host: "/var/run/postgresql",
    dbname: "db",
  });
  assert.deepEqual(parseUrl("postgres:///db").values, { dbname: "db" });
  assert.deepEqual(parseUrl("postgres://:5433").values, { port: "5433" });
  assert.deepEqual(parseUrl("postgres://").values, {});
  assert.deepEqual(parseUrl("postgres://app@").values, { user: "app" });
});

Deno.test("parseUrl: query parameters set any key, and win over the authority", () => {
  const url = "postgres://u@h/db?sslmode=verify-full&application_name=my%20app&connect_timeout=5" +
    "&sslrootcert=%2Fetc%2Fca.pem&pool_max=20&target_session_attrs=read-write&host=other&port=7000";
  assert.deepEqual(parseUrl(url).values, {
    user: "u",
    host: "other",
    port: "7000",
    dbname: "db",
    sslmode: "verify-full",
    application_name: "my app",
    connect_timeout: "5",
    sslrootcert: "/etc/ca.pem",
    pool_max: "20",
    target_session_attrs: "read-write",
  });
});

Deno.test("parseUrl: pglite", () => {
  assert.deepEqual(parseUrl("pglite://memory").values, { driver: "pglite" });
  assert.deepEqual(parseUrl("pglite://").values, { driver: "pglite" });
  assert.deepEqual(parseUrl("pglite:///var/lib/dewey%20data").values, {
    driver: "pglite",
    data_dir: "/var/lib/dewey data",
  });
  assert.deepEqual(parseUrl("pglite://./data?pool_max=1").values, {
    driver: "pglite",
    data_dir: "./data",
    pool_max: "1",
  });
});

Deno.test("parseUrl: structural problems, without quoting the URL", () => {
  const issues = (url: string) => parseUrl(url).issues;
  assert.match(
    issues("http://h/db")[0].message,
    /expected a postgres:\/\/, postgresql:\/\/ or pglite:\/\/ URL, found a http:\/\/ URL/,
  );
  assert.match(issues("db.example.com")[0].message, /found text without a scheme/);
  assert.deepEqual(issues("postgres://[::1/db")[0].key, "host");
  assert.deepEqual(issues("postgres://u:%zz@h/db")[0], {
    key: "password",
    message: "invalid percent-encoding in the URL",
  });
  assert.deepEqual(issues("postgres://u:S3cret/Pw@h/db")[0].key, "password");
  assert.deepEqual(issues("postgres://h/db?sslmode")[0].key, "sslmode");
  for (const url of ["postgres://u:S3cret/Pw@h/db", "postgres://u:S3cret%zz@h/db", "http://u:S3cret@h"]) {
    assert.ok(!JSON.stringify(parseUrl(url)).includes("S3cret"), url);
  }
});

Deno.test("redactUrl masks passwords, also in malformed URLs", () => {
  assert.equal(redactUrl("postgres://app:S3cret-Pw!@host/db"), "postgres://app:***@host/db");
  assert.equal(redactUrl("postgres://app@host/db"), "postgres://app@host/db");
  assert.equal(redactUrl("postgres://host:5432/db"), "postgres://host:5432/db");
  assert.equal(redactUrl("postgres://app:p@ss@a:1,b:2/db"), "postgres://app:***@a:1,b:2/db");
  assert.equal(redactUrl("postgres://app:S3cret/Pw@h/db"), "postgres://app:***@h/db");
  assert.equal(
    redactUrl("postgres://h/db?password=S3cret&sslpassword=x&sslmode=require"),
    "postgres://h/db?password=***&sslpassword=***&sslmode=require",
  );
  assert.equal(redactUrl("pglite://memory"), "pglite://memory");
});

Deno.test("isUrl and closest", () => {
  assert.ok(isUrl("postgres://x") && isUrl("pglite:///d") && !isUrl("config/dewey.yaml") && !isUrl("C:\\dewey.yaml"));
  assert.equal(closest("sslmod", ["sslmode", "sslcert"]), "sslmode");
  assert.equal(closest("hots", ["host", "port"]), "host");
  assert.equal(closest("x", ["host", "port"]), undefined);
});
