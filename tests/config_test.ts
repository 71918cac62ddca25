/** parseConfig / loadConfig: every key, every source, precedence, safe printing. */

import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../mod.ts";
// Without libpq's files (no default socket looked for): the defaults as written.
import { parseConfig as parseWithoutFiles } from "../src/config/parse.ts";
import { Secret } from "../src/redact.ts";
import { assertSafeConfig, password, tempFiles } from "./_config_helpers.ts";

const EVERY_KEY_YAML = (pw: string) =>
  `# every key
database:
  postgres:
    driver: neon
    host: [primary.db, standby.db]
    port: [5433, 5434]
    dbname: shop
    user: app
    password: "${pw}"
    sslmode: verify-full
    sslrootcert: /etc/ssl/ca.pem
    sslcert: /etc/ssl/client.pem
    sslkey: /etc/ssl/client.key
    sslpassword: "${pw}-key"
    application_name: billing
    connect_timeout: 5s
    keepalives: false
    keepalives_idle: 2m
    statement_timeout: 1500ms
    pool_min: 2
    pool_max: 20
    pool_acquire_timeout: 15
    pool_idle_timeout: 5m
    pool_max_lifetime: 1h
    pre_ping: 250ms
    leak_detection_threshold: 45s
    close_timeout: 3s
    health_check_interval: 0
    schema_version_query: select max(version) from schema_migrations
    reconnect_backoff_base: 50ms
    reconnect_backoff_max: 30s
    prepare: true
    pgbouncer: true
    target_session_attrs: read-write
    load_balance_hosts: random
    replicas:
      - replica1.db:6000
      - { host: replica2.db }
    max_replica_lag: 10s
    ws_proxy: proxy.example.com:443/v2
    neon_http: yes
    data_dir: /var/lib/pglite
other_app:
  ignored: true
`;

Deno.test("defaults: nothing set", () => {
  const config = parseWithoutFiles({}, { env: {} });
  assert.deepEqual({ ...config, sources: undefined }, {
    driver: "postgres",
    host: "localhost",
    port: 5432,
    hosts: [{ host: "localhost", port: 5432 }],
    dbname: "postgres",
    user: "postgres",
    channel_binding: "prefer",
    sslmode: "prefer",
    sslnegotiation: "postgres",
    sslcertmode: "allow",
    sslsni: true,
    ssl_min_protocol_version: "TLSv1.2",
    application_name: "dewey",
    client_encoding: "UTF8",
    connect_timeout: 10_000,
    keepalives: true,
    keepalives_idle: 60_000,
    pool_min: 1,
    pool_max: 10,
    pool_acquire_timeout: 30_000,
    pool_idle_timeout: 600_000,
    pool_max_lifetime: 1_800_000,
    pre_ping: 1_000,
    leak_detection_threshold: 0,
    close_timeout: 10_000,
    health_check_interval: 300_000,
    reconnect_backoff_base: 100,
    reconnect_backoff_max: 10_000,
    prepare: true,
    pgbouncer: false,
    target_session_attrs: "any",
    load_balance_hosts: "disable",
    replicas: [],
    neon_http: false,
    sources: undefined,
  });
  assert.equal(config.sources.pool_max, "default");
  assert.equal(config.sources.dbname, "default (user)");
  assert.equal(String(config), "postgres://postgres@localhost:5432/postgres");
  assertSafeConfig(config);
});

Deno.test("dbname defaults to the user, wherever the user came from", () => {
  const config = parseConfig({ user: "app" }, { env: {} });
  assert.equal(config.dbname, "app");
  assert.equal(parseConfig({}, { env: { PGUSER: "ops" } }).dbname, "ops");
});

Deno.test("every key, from a YAML file, with file lines as sources", async () => {
  const pw = password();
  await using tmp = await tempFiles({ "every.yaml": EVERY_KEY_YAML(pw) });
  const file = `${tmp.dir}/every.yaml`;
  const config = await loadConfig(file, { env: {} });
  assert.equal(config.driver, "neon");
  assert.equal(config.host, "primary.db");
  assert.equal(config.port, 5433);
  assert.deepEqual(config.hosts, [{ host: "primary.db", port: 5433 }, { host: "standby.db", port: 5434 }]);
  assert.equal(config.dbname, "shop");
  assert.equal(config.user, "app");
  assert.ok(config.password instanceof Secret);
  assert.equal(config.password.reveal(), pw);
  assert.equal(config.sslmode, "verify-full");
  assert.equal(config.sslrootcert, "/etc/ssl/ca.pem");
  assert.equal(config.sslcert, "/etc/ssl/client.pem");
  assert.equal(config.sslkey?.reveal(), "/etc/ssl/client.key");
  assert.equal(config.sslpassword?.reveal(), `${pw}-key`);
  assert.equal(config.application_name, "billing");
  assert.equal(config.connect_timeout, 5_000);
  assert.equal(config.keepalives, false);
  assert.equal(config.keepalives_idle, 120_000);
  assert.equal(config.statement_timeout, 1_500);
  assert.equal(config.pool_min, 2);
  assert.equal(config.pool_max, 20);
  assert.equal(config.pool_acquire_timeout, 15_000);
  assert.equal(config.pool_idle_timeout, 300_000);
  assert.equal(config.pool_max_lifetime, 3_600_000);
  assert.equal(config.pre_ping, 250);
  assert.equal(config.leak_detection_threshold, 45_000);
  assert.equal(config.close_timeout, 3_000);
  assert.equal(config.health_check_interval, 0);
  assert.equal(config.schema_version_query, "select max(version) from schema_migrations");
  assert.equal(config.reconnect_backoff_base, 50);
  assert.equal(config.reconnect_backoff_max, 30_000);
  assert.equal(config.pgbouncer, true);
  assert.equal(config.prepare, false, "pgbouncer forces prepare off");
  assert.equal(config.target_session_attrs, "read-write");
  assert.equal(config.load_balance_hosts, "random");
  assert.deepEqual(config.replicas, [{ host: "replica1.db", port: 6000 }, { host: "replica2.db", port: 5433 }]);
  assert.equal(config.max_replica_lag, 10_000);
  assert.equal(config.ws_proxy, "proxy.example.com:443/v2");
  assert.equal(config.neon_http, true);
  assert.equal(config.data_dir, "/var/lib/pglite");
  assert.equal(config.sources.driver, `${file}:4`);
  assert.equal(config.sources.password, `${file}:9`);
  assert.equal(config.sources.data_dir, `${file}:42`);
  assert.match(config.sources.prepare, /^off because of pgbouncer \(.*:33\)$/);
  assertSafeConfig(config);
  assert.equal(
    String(config),
    "postgres://app:***@primary.db:5433,standby.db:5434/shop?driver=neon&sslmode=verify-full",
  );
});

Deno.test("every key, as strings (env vars give strings)", () => {
  const pw = password();
  const env = {
    P_DRIVER: "pglite",
    P_HOST: "a.db, b.db",
    P_PORT: "5433,5434",
    P_DB: "shop",
    P_USER: "app",
    P_PASSWORD: pw,
    P_SSLMODE: "require",
    P_POOL_MIN: "3",
    P_POOL_MAX: "30",
    P_KEEPALIVES: "off",
    P_TIMEOUT: "2.5",
    P_PRE_PING: "false",
    P_PREPARE: "0",
    P_PGBOUNCER: "no",
    P_NEON_HTTP: "on",
    P_REPLICAS: "r1:7000,[::1]:7001,r3",
    P_TSA: "prefer-standby",
    P_LB: "disable",
    P_DIR: "./data",
  };
  const config = parseConfig({
    driver: "${P_DRIVER}",
    host: "${P_HOST}",
    port: "${P_PORT}",
    dbname: "${P_DB}",
    user: "${P_USER}",
    password: "${P_PASSWORD}",
    sslmode: "${P_SSLMODE}",
    pool_min: "${P_POOL_MIN}",
    pool_max: "${P_POOL_MAX}",
    keepalives: "${P_KEEPALIVES}",
    connect_timeout: "${P_TIMEOUT}",
    pre_ping: "${P_PRE_PING}",
    prepare: "${P_PREPARE}",
    pgbouncer: "${P_PGBOUNCER}",
    neon_http: "${P_NEON_HTTP}",
    replicas: "${P_REPLICAS}",
    target_session_attrs: "${P_TSA}",
    load_balance_hosts: "${P_LB}",
    dataDir: "${P_DIR}",
  }, { env });
  assert.equal(config.driver, "pglite");
  assert.deepEqual(config.hosts, [{ host: "a.db", port: 5433 }, { host: "b.db", port: 5434 }]);
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.sslmode, "require");
  assert.equal(config.pool_min, 3);
  assert.equal(config.pool_max, 30);
  assert.equal(config.keepalives, false);
  assert.equal(config.connect_timeout, 2_500);
  assert.equal(config.pre_ping, false);
  assert.equal(config.prepare, false);
  assert.equal(config.pgbouncer, false);
  assert.equal(config.neon_http, true);
  assert.deepEqual(config.replicas, [{ host: "r1", port: 7000 }, { host: "::1", port: 7001 }, {
    host: "r3",
    port: 5433,
  }]);
  assert.equal(config.target_session_attrs, "prefer-standby");
  assert.equal(config.data_dir, "./data");
  assert.equal(config.sources.data_dir, "env P_DIR (object)");
  assert.equal(String(config), "pglite://./data");
  assertSafeConfig(config);
});

Deno.test("host and port forms", () => {
  const hosts = (postgres: Record<string, unknown>) => parseConfig(postgres, { env: {} }).hosts;
  assert.deepEqual(hosts({ host: "a" }), [{ host: "a", port: 5432 }]);
  assert.deepEqual(hosts({ host: "a,b", port: 6000 }), [{ host: "a", port: 6000 }, { host: "b", port: 6000 }]);
  assert.deepEqual(hosts({ host: ["a", "b"], port: [1, 2] }), [{ host: "a", port: 1 }, { host: "b", port: 2 }]);
  assert.deepEqual(hosts({ host: ["a", "b"], port: ["7"] }), [{ host: "a", port: 7 }, { host: "b", port: 7 }]);
  assert.deepEqual(hosts({ port: "6543" }), [{ host: "localhost", port: 6543 }]);
  assert.deepEqual(hosts({ host: "/var/run/postgresql" }), [{ host: "/var/run/postgresql", port: 5432 }]);
});

Deno.test("pre_ping forms, pooler and dataDir aliases, boolean words", () => {
  const one = (postgres: Record<string, unknown>) => parseConfig(postgres, { env: {} });
  assert.equal(one({ pre_ping: true }).pre_ping, 1_000);
  assert.equal(one({ pre_ping: "yes" }).pre_ping, 1_000);
  assert.equal(one({ pre_ping: false }).pre_ping, false);
  assert.equal(one({ pre_ping: 0 }).pre_ping, 0, "0 is a duration: ping at every checkout");
  assert.equal(one({ pre_ping: "2s" }).pre_ping, 2_000);
  assert.equal(one({ pooler: "transaction" }).pgbouncer, true);
  assert.equal(one({ pooler: "transaction" }).prepare, false);
  assert.equal(one({ pooler: "session" }).pgbouncer, false);
  assert.equal(one({ pooler: "session" }).prepare, true);
  assert.equal(one({ dataDir: "/d" }).data_dir, "/d");
  for (
    const [word, value] of [
      ["true", true],
      ["FALSE", false],
      ["1", true],
      ["0", false],
      ["yes", true],
      ["no", false],
      [
        "on",
        true,
      ],
      ["off", false],
      [1, true],
      [0, false],
    ] as const
  ) {
    assert.equal(one({ keepalives: word }).keepalives, value, `${word}`);
  }
  assert.equal(one({ sslmode: " Require " }).sslmode, "require", "enums are trimmed and case-insensitive");
});

Deno.test("the three input shapes are equivalent; only database.postgres is read", () => {
  const postgres = { host: "db", pool_max: 3 };
  const a = parseConfig({ database: { postgres }, unrelated: { x: 1 } }, { env: {} });
  const b = parseConfig({ postgres }, { env: {} });
  const c = parseConfig(postgres, { env: {} });
  assert.deepEqual(a, b);
  assert.deepEqual(b, c);
  assert.equal(parseWithoutFiles({ database: null }, { env: {} }).host, "localhost");
  assert.equal(parseWithoutFiles({ database: { postgres: null } }, { env: {} }).host, "localhost");
});

Deno.test("URLs: postgres, postgresql, host lists, query parameters, pglite", async () => {
  const pw = password();
  const url = `postgres://app:${
    encodeURIComponent(pw)
  }@a:5432,b:5433/shop?sslmode=require&pool_max=20&application_name=api`;
  const config = parseConfig(url, { env: {} });
  assert.deepEqual(config.hosts, [{ host: "a", port: 5432 }, { host: "b", port: 5433 }]);
  assert.equal(config.user, "app");
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.dbname, "shop");
  assert.equal(config.sslmode, "require");
  assert.equal(config.pool_max, 20);
  assert.equal(config.application_name, "api");
  assert.equal(config.sources.pool_max, "url");
  assert.equal(String(config), "postgres://app:***@a:5432,b:5433/shop?sslmode=require");
  assertSafeConfig(config);
  assert.equal(parseConfig("postgresql://h/d", { env: {} }).host, "h");
  const memory = await loadConfig("pglite://memory", { env: {} });
  assert.equal(memory.driver, "pglite");
  assert.equal(memory.data_dir, undefined);
  assert.equal(String(memory), "pglite://memory");
  const dir = await loadConfig("pglite:///tmp/dewey-db", { env: {} });
  assert.equal(dir.data_dir, "/tmp/dewey-db");
  assert.equal(String(dir), "pglite:///tmp/dewey-db");
});

Deno.test("PG* variables fill every key they cover", () => {
  const pw = password();
  const config = parseConfig({}, {
    env: {
      PGHOST: "a,b",
      PGPORT: "6001,6002",
      PGUSER: "envuser",
      PGPASSWORD: pw,
      PGDATABASE: "envdb",
      PGSSLMODE: "verify-ca",
      PGAPPNAME: "envapp",
      PGCONNECT_TIMEOUT: "3",
      PGSSLROOTCERT: "/ca.pem",
      PGSSLCERT: "/cert.pem",
      PGSSLKEY: "/key.pem",
      PGTARGETSESSIONATTRS: "read-only",
      PGLOADBALANCEHOSTS: "random",
    },
  });
  assert.deepEqual(config.hosts, [{ host: "a", port: 6001 }, { host: "b", port: 6002 }]);
  assert.equal(config.user, "envuser");
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.dbname, "envdb");
  assert.equal(config.sslmode, "verify-ca");
  assert.equal(config.application_name, "envapp");
  assert.equal(config.connect_timeout, 3_000);
  assert.equal(config.sslrootcert, "/ca.pem");
  assert.equal(config.sslcert, "/cert.pem");
  assert.equal(config.sslkey?.reveal(), "/key.pem");
  assert.equal(config.target_session_attrs, "read-only");
  assert.equal(config.load_balance_hosts, "random");
  assert.equal(config.sources.host, "PGHOST");
  assert.equal(config.sources.password, "PGPASSWORD");
  assertSafeConfig(config);
});

Deno.test("precedence: the default file, DATABASE_URL over it, PG* under it, defaults last", async () => {
  const pw = password();
  const file = await loadConfig(undefined, { env: {} });
  assert.equal(String(file), "postgres://postgres@127.0.0.1:5432/test");
  assert.equal(file.pool_min, 5);
  assert.equal(file.sources.host, "config/dewey.yaml:3");
  assert.equal(file.sources.pool_min, "config/dewey.yaml:9");
  assert.equal(file.sources.application_name, "default");

  const env = {
    DB_PORT: "6543",
    DATABASE_URL: `postgres://urluser:${encodeURIComponent(pw)}@urlhost/urldb?pool_max=30`,
    PGHOST: "pghost",
    PGAPPNAME: "from-pg",
    PGPASSWORD: "never-used",
  };
  const config = await loadConfig(undefined, { env });
  assert.equal(config.host, "urlhost");
  assert.equal(config.sources.host, "DATABASE_URL");
  assert.equal(config.user, "urluser");
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.dbname, "urldb");
  assert.equal(config.pool_max, 30);
  assert.equal(config.port, 6543, "the URL has no port, so the file's applies");
  assert.equal(config.sources.port, "env DB_PORT (config/dewey.yaml:4)");
  assert.equal(config.pool_min, 5);
  assert.equal(config.sources.pool_min, "config/dewey.yaml:9");
  assert.equal(config.application_name, "from-pg");
  assert.equal(config.sources.application_name, "PGAPPNAME");
  assert.equal(config.sources.keepalives, "default");
  assertSafeConfig(config);
});

Deno.test("precedence: an empty value is unset, so the next layer applies", async () => {
  const pw = password();
  const config = await loadConfig(undefined, { env: { DB_PASSWORD: "", PGPASSWORD: pw } });
  assert.equal(config.password?.reveal(), pw);
  assert.equal(config.sources.password, "PGPASSWORD");
  const none = await loadConfig(undefined, { env: {} });
  assert.equal(none.password, undefined);
  assert.equal("password" in none, false);
});

Deno.test("precedence: an explicit source ignores the file and DATABASE_URL, not PG*", async () => {
  const env = {
    DATABASE_URL: "postgres://u@urlhost/urldb",
    DEWEY_CONFIG: "/nonexistent.yaml",
    PGPORT: "7777",
    PGUSER: "pg",
  };
  const fromObject = await loadConfig({ postgres: { host: "objhost" } }, { env });
  assert.equal(fromObject.host, "objhost");
  assert.equal(fromObject.sources.host, "object");
  assert.equal(fromObject.port, 7777);
  assert.equal(fromObject.sources.port, "PGPORT");
  assert.equal(fromObject.pool_min, 1, "config/dewey.yaml is not read");
  const fromUrl = await loadConfig("postgres://explicit/db", { env });
  assert.equal(fromUrl.host, "explicit");
  assert.equal(fromUrl.user, "pg");
  assert.equal(fromUrl.port, 7777);
  const parsed = parseConfig({ host: "h" }, { env });
  assert.equal(parsed.user, "pg");
  await using tmp = await tempFiles({ "app.yaml": "database:\n  postgres:\n    host: filehost\n" });
  const fromFile = await loadConfig(`${tmp.dir}/app.yaml`, { env });
  assert.equal(fromFile.host, "filehost");
  assert.equal(fromFile.sources.host, `${tmp.dir}/app.yaml:3`);
  assert.equal(fromFile.dbname, "pg", "DATABASE_URL is not read with an explicit file");
});

Deno.test("precedence: DEWEY_CONFIG names the file, DATABASE_URL still overrides it", async () => {
  await using tmp = await tempFiles({ "custom.yaml": "database:\n  postgres:\n    host: custom\n    pool_max: 4\n" });
  const path = `${tmp.dir}/custom.yaml`;
  const config = await loadConfig(undefined, { env: { DEWEY_CONFIG: path } });
  assert.equal(config.host, "custom");
  assert.equal(config.sources.pool_max, `${path}:4`);
  const overridden = await loadConfig(undefined, { env: { DEWEY_CONFIG: path, DATABASE_URL: "postgres://x/y" } });
  assert.equal(overridden.host, "x");
  assert.equal(overridden.pool_max, 4);
});

Deno.test("an overridden value is never evaluated", () => {
  const config = parseConfig({ port: 5433, sslmode: "disable" }, { env: { PGPORT: "54x", PGSSLMODE: "bogus" } });
  assert.equal(config.port, 5433);
  assert.equal(config.sslmode, "disable");
});

Deno.test("interpolation provenance in sources", async () => {
  await using tmp = await tempFiles({
    "i.yaml": [
      "database:",
      "  postgres:",
      "    host: ${DB_HOST}",
      "    user: ${A}-${B}",
      "    dbname: ${UNSET:-fallback}",
      "    application_name: cost $$5",
      "    replicas:",
      "      - ${R1}",
      "      - r2:${R2_PORT:-7000}",
    ].join("\n"),
  });
  const file = `${tmp.dir}/i.yaml`;
  const config = await loadConfig(file, { env: { DB_HOST: "db", A: "x", B: "y", R1: "r1:6000" } });
  assert.equal(config.sources.host, `env DB_HOST (${file}:3)`);
  assert.equal(config.user, "x-y");
  assert.equal(config.sources.user, `env A, B (${file}:4)`);
  assert.equal(config.dbname, "fallback");
  assert.equal(config.sources.dbname, `${file}:5`);
  assert.equal(config.application_name, "cost $5");
  assert.equal(config.sources.replicas, `env R1 (${file}:7)`);
  assert.deepEqual(config.replicas, [{ host: "r1", port: 6000 }, { host: "r2", port: 7000 }]);
});

Deno.test("parseConfig takes a line map for sources, and reads the process env by default", () => {
  const config = parseConfig({ database: { postgres: { pool_max: 7 } } }, {
    env: {},
    sources: { "database.postgres.pool_max": "app.yaml:12" },
  });
  assert.equal(config.sources.pool_max, "app.yaml:12");
  Deno.env.set("PGAPPNAME", "from-process-env");
  try {
    assert.equal(parseConfig({}).application_name, "from-process-env");
  } finally {
    Deno.env.delete("PGAPPNAME");
  }
});

Deno.test("printing: String, JSON, inspect and toJSON hide secrets; the config is frozen", () => {
  const pw = password();
  const config = parseConfig(
    { user: "app", password: pw, sslkey: `${pw}-key`, sslpassword: `${pw}-pass`, host: "db" },
    {
      env: {},
    },
  );
  assert.equal(String(config), "postgres://app:***@db:5432/app");
  assert.equal(`${config}`, "postgres://app:***@db:5432/app");
  const json = JSON.parse(JSON.stringify(config));
  assert.equal(json.password, "***");
  assert.equal(json.sslkey, "***");
  assert.equal(json.sslpassword, "***");
  assert.equal(json.sources.password, "object");
  assert.deepEqual(Object.keys(json), Object.keys(config), "JSON keeps every key");
  const plain = (config as unknown as { toJSON(): Record<string, unknown> }).toJSON();
  assert.equal(plain.password, "***");
  assert.match(Deno.inspect(config), /^DatabaseConfig \{/);
  assert.match(Deno.inspect(config), /password: "\*\*\*"/);
  assertSafeConfig(config);
  assert.throws(() => {
    (config as { pool_max: number }).pool_max = 99;
  }, TypeError);
  assert.equal(config.password?.reveal(), pw, "reveal() is the one way to the secret");
});

Deno.test("YAML anchors and merge keys work", async () => {
  await using tmp = await tempFiles({
    "m.yaml":
      "shared: &shared\n  pool_max: 3\n  host: shared.db\ndatabase:\n  postgres:\n    <<: *shared\n    host: own.db\n",
  });
  const config = await loadConfig(`${tmp.dir}/m.yaml`, { env: {} });
  assert.equal(config.pool_max, 3);
  assert.equal(config.host, "own.db");
  assert.equal(config.sources.host, `${tmp.dir}/m.yaml:7`);
});

Deno.test("without config/dewey.yaml in the working directory, PG* and defaults apply", async () => {
  await using tmp = await tempFiles({});
  const cwd = Deno.cwd();
  Deno.chdir(tmp.dir);
  try {
    const config = await loadConfig(undefined, { env: { PGHOST: "pg.db" } });
    assert.equal(config.host, "pg.db");
    assert.equal(config.pool_min, 1);
    assert.equal(config.sources.pool_min, "default");
  } finally {
    Deno.chdir(cwd);
  }
});
