/** libpq's parameters, keyword/value strings and URL forms, as configuration (no server). */

import assert from "node:assert/strict";
import { parseConfig } from "../src/config/parse.ts";
import { LIBPQ_PARAMETERS } from "../src/config/libpq.ts";
import { ConfigError } from "../src/errors.ts";
import { assertSafeConfig, password, rejectsConfigError, throwsConfigError } from "./_config_helpers.ts";

/** A value libpq would accept for each parameter, so a refusal is about the parameter, not its value. */
const SAMPLE: Readonly<Record<string, string>> = {
  host: "db",
  hostaddr: "10.0.0.1",
  port: "5433",
  dbname: "app",
  user: "app",
  password: "pw",
  passfile: "/nonexistent/.pgpass",
  require_auth: "scram-sha-256",
  channel_binding: "require",
  connect_timeout: "5",
  client_encoding: "UTF8",
  options: "-c search_path=app",
  application_name: "billing",
  fallback_application_name: "fallback",
  keepalives: "1",
  keepalives_idle: "30",
  keepalives_interval: "10",
  keepalives_count: "3",
  tcp_user_timeout: "10000",
  replication: "0",
  gssencmode: "disable",
  sslmode: "require",
  requiressl: "1",
  sslnegotiation: "postgres",
  sslcompression: "0",
  sslcert: "/etc/ssl/client.pem",
  sslkey: "/etc/ssl/client.key",
  sslpassword: "keypw",
  sslcertmode: "allow",
  sslrootcert: "/etc/ssl/ca.pem",
  sslcrl: "/etc/ssl/crl.pem",
  sslcrldir: "/etc/ssl/crl",
  sslsni: "0",
  requirepeer: "postgres",
  ssl_min_protocol_version: "TLSv1.3",
  ssl_max_protocol_version: "TLSv1.3",
  krbsrvname: "postgres",
  gsslib: "gssapi",
  gssdelegation: "0",
  service: "app",
  target_session_attrs: "read-write",
  load_balance_hosts: "random",
};

/** Parses `input` (a service needs a file: none here) and returns the config or the issues at `key`. */
function attempt(input: string | Record<string, unknown>, key: string, env: Record<string, string> = {}) {
  try {
    return { config: parseConfig(input, { env }) };
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return { issues: error.issues.filter((i) => i.path === `database.postgres.${key}`), all: error.issues };
  }
}

Deno.test("libpq: every parameter is taken in a URL, a keyword/value string, an object and its PG* variable", () => {
  assert.deepEqual(Object.keys(SAMPLE).sort(), Object.keys(LIBPQ_PARAMETERS).sort(), "SAMPLE covers the table");
  for (const [key, p] of Object.entries(LIBPQ_PARAMETERS)) {
    const value = SAMPLE[key];
    const forms: [string, string | Record<string, unknown>, Record<string, string>][] = [
      ["url", `postgres://db/app?${key}=${encodeURIComponent(value)}`, {}],
      ["keyword/value", `dbname=app ${key}='${value}'`, {}],
      ["object", { postgres: { [key]: value } }, {}],
    ];
    if (p.env) forms.push([p.env, {}, { [p.env]: value }]);
    for (const [form, input, env] of forms) {
      const result = attempt(input, key === "requiressl" ? "sslmode" : key, env);
      const all = result.all?.map((i) => i.message).join("; ") ?? "";
      assert.doesNotMatch(all, /unknown key/, `${key} (${form}) is never an unknown key`);
      if (p.support === "no") {
        assert.match(all, new RegExp(`"${key}" is a libpq parameter this library does not support: .{10,}`), form);
      } else if (key === "service") {
        // A service is read from a service file; parseConfig alone reads none.
        assert.match(all, /service "app" is defined in a service file, and this runtime reads no files/, form);
      } else {
        // Only the pairs that need a partner may complain (hostaddr without as many hosts, sslcert alone...).
        const own = (result.issues ?? []).map((i) => i.message);
        assert.deepEqual(own, [], `${key}=${value} (${form}) is honoured: ${all}`);
      }
    }
  }
});

Deno.test("libpq: values a parameter takes only in part are refused with the reason", () => {
  const refused: [string, string, RegExp][] = [
    ["gssencmode", "require", /libpq's gssencmode=require is not supported by this library: .*GSSAPI/],
    ["sslcertmode", "require", /libpq's sslcertmode=require is not supported .*cannot tell whether the server asked/],
    ["sslcompression", "1", /libpq's sslcompression=1 is not supported .*insecure/],
    ["gssdelegation", "1", /libpq's gssdelegation=1 is not supported/],
    ["replication", "database", /libpq's replication=database is not supported .*replication clients/],
    ["replication", "true", /libpq's replication=true is not supported/],
    ["client_encoding", "LATIN1", /libpq's client_encoding=LATIN1 is not supported .*UTF-8/],
    ["require_auth", "md5,!password", /cannot be mixed/],
    ["require_auth", "scram-sha256", /did you mean "scram-sha-256"/],
  ];
  for (const [key, value, message] of refused) {
    throwsConfigError(() => parseConfig(`postgres://db/app?${key}=${encodeURIComponent(value)}`, { env: {} }), {
      path: `database.postgres.${key}`,
      message,
      source: "url",
    });
  }
  const c = parseConfig("postgres://db/app?client_encoding=utf-8&gssencmode=prefer&require_auth=!password,!md5", {
    env: {},
  });
  assert.equal(c.client_encoding, "UTF8");
  assert.equal(c.gssencmode, "prefer");
  assert.equal(c.require_auth, "!password,!md5");
});

Deno.test("keyword/value strings: libpq's quoting, escapes, spaces around '=', the last keyword wins", () => {
  const pw = password();
  const escaped = pw.replaceAll("\\", "\\\\").replaceAll("'", "\\'");
  const config = parseConfig(
    `host = db.example.com  port=6432 dbname='my db' user=app password='${escaped} it\\'s' ` +
      `options='-c search_path=app' application_name=a\\ b application_name=last sslmode=verify-full sslrootcert=system`,
    { env: {} },
  );
  assert.equal(config.host, "db.example.com");
  assert.equal(config.port, 6432);
  assert.equal(config.dbname, "my db");
  assert.equal(config.password?.reveal(), `${pw} it's`);
  assert.equal(config.options, "-c search_path=app");
  assert.equal(config.application_name, "last");
  assert.equal(config.sslmode, "verify-full");
  assert.equal(config.sources.host, "url");
  assertSafeConfig(config);
  throwsConfigError(() => parseConfig("host=db dbname", { env: {} }), {
    path: "database.postgres",
    message: /missing "=" after "dbname"/,
  });
  throwsConfigError(() => parseConfig("host=db colour=blue", { env: {} }), {
    path: "database.postgres.colour",
    message: /unknown key "colour"/,
  });
});

Deno.test("URLs: libpq's ssl=true is sslmode=require; other libraries' forms name the libpq equivalent", () => {
  assert.equal(parseConfig("postgres://db/app?ssl=true", { env: {} }).sslmode, "require");
  assert.equal(parseConfig("postgres://db/app?requiressl=1", { env: {} }).sslmode, "require");
  assert.equal(parseConfig("postgres://db/app?requiressl=0", { env: {} }).sslmode, "prefer");
  assert.equal(parseConfig("postgres://db/app", { env: { PGREQUIRESSL: "1" } }).sslmode, "require");
  assert.equal(
    parseConfig("postgres://db/app", { env: { PGREQUIRESSL: "1", PGSSLMODE: "disable" } }).sslmode,
    "disable",
  );
  const foreign: [string, string, RegExp][] = [
    ["ssl=1", "ssl", /sslmode=require, or verify-full to also verify the server, for ssl=1/],
    ["ssl=false", "ssl", /libpq's equivalent is sslmode=disable for ssl=false/],
    ["sslmode=no-verify", "sslmode", /libpq's equivalent is sslmode=require \(it encrypts without verifying/],
    ["sslaccept=accept_invalid_certs", "sslaccept", /libpq's equivalent is sslmode=require/],
    ["schema=app", "schema", /libpq's equivalent is options=-c search_path=<schema>/],
    ["connection_limit=1", "connection_limit", /pool_max/],
    ["pool_timeout=20", "pool_timeout", /pool_acquire_timeout/],
    ["sslca=/ca.pem", "sslca", /sslrootcert/],
  ];
  for (const [query, key, message] of foreign) {
    throwsConfigError(() => parseConfig(`postgres://db/app?${query}`, { env: {} }), {
      path: `database.postgres.${key}`,
      message,
    });
  }
});

Deno.test("libpq parameters between them: hostaddr per host, TLS versions, direct TLS, channel binding", () => {
  const c = parseConfig("postgres://a,b/app?hostaddr=10.0.0.1,10.0.0.2", { env: {} });
  assert.deepEqual(c.hosts.map((h) => [h.host, h.address]), [["a", "10.0.0.1"], ["b", "10.0.0.2"]]);
  const bare = parseConfig("hostaddr=10.0.0.9 dbname=app", { env: {} });
  assert.equal(bare.host, "10.0.0.9");
  assert.equal(bare.sources.host, "hostaddr (url)");
  const problems: [string, string, RegExp][] = [
    ["host=a,b hostaddr=10.0.0.1", "hostaddr", /one address per host \(2\), found 1/],
    ["host=a hostaddr=db.example.com", "hostaddr", /expected an IP address, found "db.example.com"/],
    ["host=a ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2", "ssl_min_protocol_version", /at most/],
    [
      "host=a sslnegotiation=direct",
      "sslnegotiation",
      /sslmode require, verify-ca or verify-full, found sslmode=prefer/,
    ],
    ["host=a sslmode=disable channel_binding=require", "channel_binding", /sslmode=disable never uses TLS/],
    ["host=/run/pg driver=neon", "host", /needs driver postgres/],
  ];
  for (const [text, key, message] of problems) {
    throwsConfigError(() => parseConfig(text, { env: {} }), { path: `database.postgres.${key}`, message });
  }
  const tls = parseConfig("host=a sslmode=require sslnegotiation=direct ssl_min_protocol_version=tlsv1.3", { env: {} });
  assert.equal(tls.ssl_min_protocol_version, "TLSv1.3");
  assert.equal(tls.sslnegotiation, "direct");
});

Deno.test("fallback_application_name applies when no application_name is set anywhere", () => {
  const c = parseConfig("postgres://db/app?fallback_application_name=worker", { env: {} });
  assert.equal(c.application_name, "worker");
  assert.equal(c.sources.application_name, "fallback_application_name (url)");
  const set = parseConfig("postgres://db/app?fallback_application_name=worker", { env: { PGAPPNAME: "api" } });
  assert.equal(set.application_name, "api");
});

Deno.test("Unix sockets: a directory host in YAML, ?host=, a percent-encoded URL host and PGHOST", () => {
  const forms: [string | Record<string, unknown>, Record<string, string>][] = [
    [{ postgres: { host: "/var/run/postgresql" } }, {}],
    ["postgres:///app?host=/var/run/postgresql", {}],
    ["postgresql://%2Fvar%2Frun%2Fpostgresql/app", {}],
    ["host=/var/run/postgresql dbname=app", {}],
    ["postgres:///app", { PGHOST: "/var/run/postgresql" }],
  ];
  for (const [input, env] of forms) {
    assert.equal(parseConfig(input, { env }).host, "/var/run/postgresql", JSON.stringify(input));
  }
  const cloudSql = parseConfig("postgres://app:pw@/shop?host=/cloudsql/project:region:instance", { env: {} });
  assert.deepEqual(cloudSql.hosts, [{ host: "/cloudsql/project:region:instance", port: 5432 }]);
  assert.equal(String(cloudSql), "postgres://app:***@%2Fcloudsql%2Fproject%3Aregion%3Ainstance:5432/shop");
});

Deno.test("PG* variables: every libpq variable fills its key; a refused one is refused", () => {
  const c = parseConfig({}, {
    env: {
      PGCHANNELBINDING: "disable",
      PGOPTIONS: "-c statement_timeout=5s",
      PGCLIENTENCODING: "UTF8",
      PGSSLSNI: "0",
      PGSSLMINPROTOCOLVERSION: "TLSv1.3",
      PGSSLNEGOTIATION: "postgres",
      PGREQUIREAUTH: "scram-sha-256",
      PGHOSTADDR: "127.0.0.1",
      PGGSSENCMODE: "disable",
    },
  });
  assert.equal(c.channel_binding, "disable");
  assert.equal(c.options, "-c statement_timeout=5s");
  assert.equal(c.sslsni, false);
  assert.equal(c.ssl_min_protocol_version, "TLSv1.3");
  assert.equal(c.require_auth, "scram-sha-256");
  assert.equal(c.sources.options, "PGOPTIONS");
  throwsConfigError(() => parseConfig({}, { env: { PGKRBSRVNAME: "postgres" } }), {
    path: "database.postgres.krbsrvname",
    source: "PGKRBSRVNAME",
    message: /libpq parameter this library does not support/,
  });
});

Deno.test("the neon driver refuses what it cannot keep: channel_binding=require, require_auth", async () => {
  const { createDriver } = await import("../adapters/neon.ts");
  const neon = (query: string) => parseConfig(`postgres://app:pw@ep-x.neon.tech/db?driver=neon&${query}`, { env: {} });
  await rejectsConfigError(createDriver(neon("sslmode=require&channel_binding=require")), {
    path: "database.postgres.channel_binding",
    message: /cannot be kept by the neon driver.*channel_binding=prefer/,
  });
  await rejectsConfigError(createDriver(neon("require_auth=scram-sha-256")), {
    path: "database.postgres.require_auth",
    message: /not enforced by the neon driver/,
  });
  assert.equal((await createDriver(neon("channel_binding=prefer&options=endpoint%3Dep-x"))).name, "neon");
});
