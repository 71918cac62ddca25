// Unit tests of the host-list walk (target_session_attrs, load_balance_hosts, connect_timeout, failover events)
// over a fake driver whose hosts play primary, standby, down or hanging. The real servers are in failover_test.ts.
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/parse.ts";
import type { DatabaseConfig, TargetSessionAttrs } from "../src/config/types.ts";
import { DatabaseConnection } from "../mod.ts";
import { hostListConnector, matchesAttrs } from "../src/connect_hosts.ts";
import type { ConnectRequest, Driver, DriverConnection, QueryResult } from "../src/contracts.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { type DatabaseEventMap, Emitter } from "../src/events.ts";

type Role = "primary" | "standby" | "read-only" | "down" | "hang" | "badpass";

/** A driver whose hosts answer `serverRole` as `roles[host]` says. */
class HostDriver implements Driver {
  readonly name = "hosts";
  readonly pipelining = true;
  readonly remote = true;
  readonly dials: string[] = [];
  readonly open = new Set<HostConnection>();
  constructor(readonly roles: Record<string, Role>) {}

  connect(request: ConnectRequest): Promise<DriverConnection> {
    const host = request.host;
    this.dials.push(host);
    const role = this.roles[host];
    if (role === "down") {
      return Promise.reject(Object.assign(new Error(`connect ECONNREFUSED ${host}`), { code: "ECONNREFUSED" }));
    }
    if (role === "badpass") {
      return Promise.reject(new DatabaseConnectionError("password authentication failed", { code: "28P01" }));
    }
    if (role === "hang") {
      return new Promise((_, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
      });
    }
    const conn = new HostConnection(this, host);
    this.open.add(conn);
    return Promise.resolve(conn);
  }
}

class HostConnection implements DriverConnection {
  closed = false;
  readonly info: DriverConnection["info"];
  constructor(readonly driver: HostDriver, readonly host: string) {
    this.info = { host, port: 5432, tls: null };
  }

  query(text: string): Promise<QueryResult> {
    const role = this.driver.roles[this.host];
    const row = /pg_is_in_recovery/.test(text)
      ? { r: role === "standby", ro: role === "standby" || role === "read-only" ? "on" : "off" }
      : { host: this.host };
    return Promise.resolve({ rows: [row], rowCount: 1, command: "SELECT", fields: [] });
  }

  close(): Promise<void> {
    this.closed = true;
    this.driver.open.delete(this);
    return Promise.resolve();
  }
}

function config(hosts: string[], extra: Record<string, unknown> = {}): DatabaseConfig {
  return parseConfig({ postgres: { host: hosts, port: 5432, dbname: "d", user: "u", ...extra } });
}

async function connectTo(driver: HostDriver, c: DatabaseConfig, events?: Emitter): Promise<HostConnection> {
  const connect = hostListConnector(driver, c, c.hosts, { events });
  return await connect(new AbortController().signal, () => {}) as HostConnection;
}

Deno.test("matchesAttrs follows libpq's table", () => {
  const primary = { inRecovery: false, readOnly: false };
  const readOnlyPrimary = { inRecovery: false, readOnly: true };
  const standby = { inRecovery: true, readOnly: true };
  const table: [TargetSessionAttrs, boolean, boolean, boolean][] = [
    ["any", true, true, true],
    ["read-write", true, false, false],
    ["read-only", false, true, true],
    ["primary", true, true, false],
    ["standby", false, false, true],
    ["prefer-standby", false, false, true], // the fallback to any server is the connector's
  ];
  for (const [attrs, p, rop, s] of table) {
    assert.deepEqual(
      [matchesAttrs(attrs, primary), matchesAttrs(attrs, readOnlyPrimary), matchesAttrs(attrs, standby)],
      [p, rop, s],
      attrs,
    );
  }
});

Deno.test("host lists come from host/port lists and from postgres://a:p1,b:p2/db URLs", () => {
  const c = parseConfig("postgres://u@a:5433,b:5434/db?target_session_attrs=read-write&load_balance_hosts=random");
  assert.deepEqual(c.hosts, [{ host: "a", port: 5433 }, { host: "b", port: 5434 }]);
  assert.equal(c.target_session_attrs, "read-write");
  assert.equal(c.load_balance_hosts, "random");
  const y = parseConfig({ postgres: { host: ["a", "b", "c"], port: [1, 2, 3] } });
  assert.deepEqual(y.hosts.map((h) => `${h.host}:${h.port}`), ["a:1", "b:2", "c:3"]);
});

Deno.test("the walk goes in order and keeps the first host matching target_session_attrs", async () => {
  const roles: Record<string, Role> = { a: "down", b: "standby", c: "read-only", d: "primary" };
  const cases: [TargetSessionAttrs, string][] = [
    ["any", "b"],
    ["read-write", "d"],
    ["primary", "c"],
    ["read-only", "b"],
    ["standby", "b"],
    ["prefer-standby", "b"],
  ];
  for (const [attrs, expected] of cases) {
    const driver = new HostDriver(roles);
    const conn = await connectTo(driver, config(["a", "b", "c", "d"], { target_session_attrs: attrs }));
    assert.equal(conn.host, expected, attrs);
    assert.deepEqual(driver.dials, ["a", "b", "c", "d"].slice(0, ["a", "b", "c", "d"].indexOf(expected) + 1), attrs);
    assert.deepEqual([...driver.open], [conn], `${attrs}: the rejected connections were closed`);
  }
});

Deno.test("prefer-standby falls back to the first server that answered when no standby did", async () => {
  const driver = new HostDriver({ a: "down", b: "primary", c: "read-only" });
  const conn = await connectTo(driver, config(["a", "b", "c"], { target_session_attrs: "prefer-standby" }));
  assert.equal(conn.host, "b");
  assert.deepEqual(driver.dials, ["a", "b", "c"]);
  assert.deepEqual([...driver.open], [conn]);
});

Deno.test("no server matching: one DatabaseConnectionError naming every host, retryable, nothing sent", async () => {
  const driver = new HostDriver({ a: "down", b: "standby", c: "badpass" });
  const err = await connectTo(driver, config(["a", "b", "c"], { target_session_attrs: "read-write" })).catch((e) => e);
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.match(err.message, /no server matched \(target_session_attrs=read-write\)/);
  assert.match(err.message, /a:5432.*ECONNREFUSED/);
  assert.match(err.message, /b:5432 is a standby, not read-write/);
  assert.match(err.message, /c:5432.*password authentication failed/);
  assert.equal(err.retryable, true);
  assert.equal(err.reachedServer, false);
  assert.equal(driver.open.size, 0);

  const alone = await connectTo(new HostDriver({ a: "badpass" }), config(["a"])).catch((e) => e);
  assert.equal(alone.retryable, false, "a wrong password alone will not fix itself");
});

Deno.test("connect_timeout bounds each host, not the whole walk", async () => {
  const driver = new HostDriver({ a: "hang", b: "hang", c: "primary" });
  const t0 = performance.now();
  const conn = await connectTo(driver, config(["a", "b", "c"], { connect_timeout: "100ms" }));
  assert.equal(conn.host, "c");
  const took = performance.now() - t0;
  assert.ok(took >= 190 && took < 5000, `took ${took} ms`);
});

Deno.test("load_balance_hosts: random spreads first choices; disable always starts at the first host", async () => {
  const roles: Record<string, Role> = { a: "primary", b: "primary", c: "primary" };
  const count = async (lb: string) => {
    const seen: Record<string, number> = { a: 0, b: 0, c: 0 };
    const driver = new HostDriver(roles);
    const c = config(["a", "b", "c"], { load_balance_hosts: lb });
    const connect = hostListConnector(driver, c, c.hosts);
    for (let i = 0; i < 300; i++) {
      const conn = await connect(new AbortController().signal, () => {}) as HostConnection;
      seen[conn.host]++;
      await conn.close();
    }
    return seen;
  };
  const random = await count("random");
  for (const h of ["a", "b", "c"]) assert.ok(random[h] > 50, JSON.stringify(random));
  assert.deepEqual(await count("disable"), { a: 300, b: 0, c: 0 });
});

Deno.test("failover event: emitted once when new connections move off a host that failed", async () => {
  const roles: Record<string, Role> = { a: "primary", b: "standby" };
  const driver = new HostDriver(roles);
  const events = new Emitter();
  const seen: DatabaseEventMap["failover"][] = [];
  events.on("failover", (e) => seen.push(e.detail));
  const c = config(["a", "b"], { target_session_attrs: "read-write" });
  const connect = hostListConnector(driver, c, c.hosts, { events });
  const open = async () => (await connect(new AbortController().signal, () => {}) as HostConnection).host;
  assert.equal(await open(), "a");
  assert.equal(await open(), "a");
  roles.a = "down";
  const err = await open().catch((e) => e);
  assert.match(err.message, /b:5432 is a standby/);
  roles.b = "primary"; // promoted
  assert.equal(await open(), "b");
  assert.equal(await open(), "b");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].from, "a:5432");
  assert.equal(seen[0].to, "b:5432");
  assert.match(seen[0].reason, /could not connect to a:5432/);

  // With `any` and random balancing, landing on another host is not a failover.
  const quiet = new Emitter();
  let n = 0;
  quiet.on("failover", () => n++);
  const any = config(["x", "y"], { load_balance_hosts: "random" });
  const lb = hostListConnector(new HostDriver({ x: "primary", y: "primary" }), any, any.hosts, { events: quiet });
  for (let i = 0; i < 50; i++) await (await lb(new AbortController().signal, () => {})).close();
  assert.equal(n, 0);
});

Deno.test("DatabaseConnection over a host list: queries land on the read-write host, health names it", async () => {
  const driver = new HostDriver({ a: "standby", b: "primary" });
  await using db = new DatabaseConnection(
    "postgres://u@a:5432,b:5432/db?target_session_attrs=read-write&health_check_interval=0",
    { driver, logger: false },
  );
  assert.deepEqual((await db.query("SELECT 1")).rows, [{ host: "b" }]);
  const health = await db.health();
  assert.equal(health.server, "b:5432");
});
