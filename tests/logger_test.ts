// The logger: one logfmt line per event at sensible levels, replaceable, silenceable, never a secret.
import assert from "node:assert/strict";
import { DatabaseConnection } from "../mod.ts";
import { Emitter } from "../src/events.ts";
import { attachLogger, consoleLogger, logfmt, type Logger } from "../src/logger.ts";
import { Redactor } from "../src/redact.ts";
import { FakeDriver } from "./helpers/fake_driver.ts";

type Line = { level: string; message: string; fields?: Record<string, unknown> };

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message, fields });
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

Deno.test("logfmt: key=value, quoted when needed, numbers rounded, undefined skipped, secrets redacted", () => {
  const redactor = new Redactor(["hunter2-logfmt"]);
  const line = logfmt({
    event: "reconnecting",
    attempt: 2,
    delayMs: 123.456789,
    missing: undefined,
    error: "ECONNREFUSED 127.0.0.1:5432",
    empty: "",
    quote: 'say "hi"',
    url: "postgres://app:topsecret@db:5432/app",
    secret: "auth failed for hunter2-logfmt",
    obj: { a: 1 },
  }, (text) => redactor.redact(text));
  assert.equal(
    line,
    'event=reconnecting attempt=2 delayMs=123.46 error="ECONNREFUSED 127.0.0.1:5432" empty="" ' +
      'quote="say \\"hi\\"" url=postgres://app:***@db:5432/app secret="auth failed for ***" obj="{\\"a\\":1}"',
  );
});

Deno.test("levels: warn for reconnecting, info for reconnected, debug for checkouts; below the level is not even listened to", () => {
  const events = new Emitter();
  const { logger, lines } = capture();
  const detach = attachLogger(events, logger, "info");
  assert.ok(!events.wants("checkout") && !events.wants("checkin") && !events.wants("connect"));
  assert.ok(events.wants("reconnecting") && events.wants("disconnect") && events.wants("health-change"));
  events.emit("reconnecting", { attempt: 1, delayMs: 50, downSince: "2024-01-01T00:00:00.000Z", error: "x" });
  events.emit("reconnected", { downtimeMs: 1200, attempts: 3 });
  events.emit("disconnect", { id: 1, reason: "idle" }); // debug: below info
  events.emit("disconnect", { id: 2, reason: "error", error: "57P01" });
  events.emit("health-change", { previous: "healthy", status: "unhealthy", error: "down" });
  events.emit("health-change", { previous: "unhealthy", status: "healthy" });
  events.emit("schema-version", { previous: 1, current: 2 });
  assert.deepEqual(lines.map((l) => `${l.level} ${l.message}`), [
    "warn reconnecting",
    "info reconnected",
    "info disconnect",
    "warn health-change",
    "info health-change",
    "info schema-version",
  ]);
  assert.deepEqual(lines[1].fields, { downtimeMs: 1200, attempts: 3 });
  detach();
  assert.ok(!events.wants("reconnecting"), "detach removes every listener");
  events.emit("reconnected", { downtimeMs: 1, attempts: 1 });
  assert.equal(lines.length, 6);

  const all = capture();
  attachLogger(events, all.logger, "debug");
  events.emit("checkout", { id: 1, waitMs: 0 });
  assert.deepEqual(all.lines.map((l) => l.level), ["debug"]);
});

Deno.test("a flood of the same warning (500 callers on an exhausted pool) is logged once a second", () => {
  const events = new Emitter();
  const { logger, lines } = capture();
  attachLogger(events, logger);
  for (let i = 0; i < 500; i++) events.emit("pool-exhausted", { inUse: 5, waiting: i, max: 5 });
  for (let i = 0; i < 3; i++) events.emit("leak-suspected", { id: i, heldMs: 100 }); // each leak matters
  assert.deepEqual(lines.map((l) => l.message), [
    "pool-exhausted",
    "leak-suspected",
    "leak-suspected",
    "leak-suspected",
  ]);
});

Deno.test("DatabaseConnection: the default logger writes one line to the console; a replacement gets the events; false silences", async () => {
  const driver = new FakeDriver();
  const config = { postgres: { host: "fake", password: "pw-logger-9x", health_check_interval: 0 } };
  const printed: string[] = [];
  const original = { warn: console.warn, info: console.info };
  console.warn = (...a: unknown[]) => printed.push(a.join(" "));
  console.info = (...a: unknown[]) => printed.push(a.join(" "));
  try {
    const db = new DatabaseConnection(config, { driver });
    db.emit("reconnecting", {
      attempt: 3,
      delayMs: 400,
      downSince: "2024-01-01T00:00:00.000Z",
      error: "could not connect to postgres://app:pw-logger-9x@fake:5432/app: ECONNREFUSED",
    });
    await db.close();
    db.emit("reconnecting", { attempt: 4, delayMs: 1, downSince: "", error: "" }); // detached on close
  } finally {
    Object.assign(console, original);
  }
  assert.deepEqual(printed, [
    'dewey reconnecting attempt=3 delayMs=400 downSince=2024-01-01T00:00:00.000Z error="could not connect to ' +
    'postgres://app:***@fake:5432/app: ECONNREFUSED"',
  ]);

  const { logger, lines } = capture();
  const custom = new DatabaseConnection(config, { driver, logger, logLevel: "debug" });
  await custom.validateConnection();
  await custom.getSession((s) => s.query("SELECT 1"));
  await custom.close();
  assert.ok(lines.some((l) => l.level === "debug" && l.message === "connect"));
  assert.ok(lines.some((l) => l.message === "checkout") && lines.some((l) => l.message === "checkin"));
  assert.ok(lines.every((l) => !JSON.stringify(l).includes("pw-logger-9x")));

  const silent = new DatabaseConnection(config, { driver, logger: false });
  for (const type of ["connect", "reconnecting", "pool-exhausted", "health-change"] as const) {
    assert.ok(!silent.wants(type), `logger: false listens to nothing (${type})`);
  }
  await silent.close();
});

Deno.test("consoleLogger is a Logger with all four levels", () => {
  for (const level of ["debug", "info", "warn", "error"] as const) {
    assert.equal(typeof consoleLogger[level], "function");
  }
});
