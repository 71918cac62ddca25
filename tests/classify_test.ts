// Error classification: which failures discard a connection, which are worth retrying, what reached the server.
import assert from "node:assert/strict";
import {
  isConnectionFailure,
  isConnectionSqlState,
  isRetryableConnectFailure,
  isTransientSqlState,
  networkError,
  serverError,
} from "../src/classify.ts";
import { DatabaseConnectionError, PoolTimeoutError, QueryError } from "../src/errors.ts";

Deno.test("connection-class SQLSTATEs: class 08, 57P01-57P03, 57P05, 25P03; nothing else", () => {
  for (
    const code of ["08000", "08001", "08003", "08004", "08006", "08P01", "57P01", "57P02", "57P03", "57P05", "25P03"]
  ) {
    assert.ok(isConnectionSqlState(code), code);
  }
  for (const code of ["57014", "57P04", "40001", "40P01", "23505", "42601", "25P02", "53300", "", undefined]) {
    assert.ok(!isConnectionSqlState(code), String(code));
  }
});

Deno.test("a connection is discarded for connection failures only, never for syntax, constraint or serialization", () => {
  const discard = [
    new DatabaseConnectionError("gone", { code: "57P01", retryable: true }),
    new DatabaseConnectionError("reset", { code: "ECONNRESET" }),
    Object.assign(new Error("raw socket"), { code: "EPIPE" }),
    Object.assign(new Error("postgres.js"), { code: "CONNECTION_CLOSED" }),
    Object.assign(new Error("raw server"), { code: "08006" }),
  ];
  for (const e of discard) assert.ok(isConnectionFailure(e), String(e));
  const keep = [
    new QueryError({ code: "42601", message: "syntax" }),
    new QueryError({ code: "23505", message: "duplicate key" }),
    new QueryError({ code: "40001", message: "could not serialize" }),
    new QueryError({ code: "40P01", message: "deadlock" }),
    new QueryError({ code: "57014", message: "canceling statement" }),
    new PoolTimeoutError("no connection", { inUse: 1, waiting: 0, max: 1 }),
    new DatabaseConnectionError("closed pool", { code: "POOL_CLOSED" }),
    new TypeError("a bug"),
    Object.assign(new Error("unknown"), { code: "XX000" }),
    undefined,
  ];
  for (const e of keep) assert.ok(!isConnectionFailure(e), String(e));
});

Deno.test("retryable connect failures: network, starting up, too many clients; not a wrong password or missing database", () => {
  for (const code of ["ECONNREFUSED", "ETIMEDOUT", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "57P03", "53300", "57P01"]) {
    assert.ok(isRetryableConnectFailure({ code }), code);
  }
  assert.ok(isRetryableConnectFailure(new Error("no code at all")));
  for (
    const code of ["28P01", "28000", "3D000", "08P01", "DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_TLS_CERT_ALTNAME_INVALID"]
  ) {
    assert.ok(!isRetryableConnectFailure({ code }), code);
  }
});

Deno.test("whole-transaction retry only for serialization failures and deadlocks", () => {
  assert.ok(isTransientSqlState("40001"));
  assert.ok(isTransientSqlState("40P01"));
  for (const code of ["23505", "25P02", "57P01", "40002", undefined]) assert.ok(!isTransientSqlState(code));
});

Deno.test("serverError: connection states become retryable DatabaseConnectionErrors, the rest QueryErrors with fields", () => {
  const lost = serverError({ code: "57P01", message: "terminating connection due to administrator command" });
  assert.ok(lost instanceof DatabaseConnectionError);
  assert.equal(lost.code, "57P01");
  assert.ok(lost.retryable);
  assert.equal(lost.reachedServer, true, "by default the statement may have reached the server");
  assert.match(lost.message, /connection lost: terminating connection.*\(57P01\)/);
  const unsent = serverError({ code: "57P05", message: "idle-session timeout" }, undefined, false);
  assert.ok(unsent instanceof DatabaseConnectionError && unsent.reachedServer === false);
  const dup = serverError({ code: "23505", message: "duplicate key", constraint: "t_pkey", detail: "Key (id)=(1)" });
  assert.ok(dup instanceof QueryError);
  assert.equal(dup.constraint, "t_pkey");
  assert.equal(dup.detail, "Key (id)=(1)");
});

Deno.test("networkError keeps the code and says whether the statement may have been sent", () => {
  const sent = networkError("read ECONNRESET", "ECONNRESET", true);
  assert.ok(sent.retryable && sent.reachedServer && sent.code === "ECONNRESET");
  const unsent = networkError("closed before sending", "CONNECTION_CLOSED", false, new Error("cause"));
  assert.equal(unsent.reachedServer, false);
  assert.equal((unsent.cause as Error).message, "cause");
  assert.ok(isConnectionFailure(unsent));
});
