/**
 * The per-configuration redactor: built from the raw input before parsing,
 * carried by the configuration, and with no process-wide state.
 */

import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../mod.ts";
import { ConfigError } from "../src/errors.ts";
import { Redactor, redactorOf, redactText, Secret } from "../src/redact.ts";
import { assertNoSecret, assertSafeConfig, password, tempFiles, throwsConfigError } from "./_config_helpers.ts";

Deno.test("a Secret registers nothing: other text and other configurations are left alone", () => {
  const pw = password();
  new Secret(pw);
  assert.equal(redactText(`auth ${pw}`), `auth ${pw}`);
  const other = password();
  const a = parseConfig(`postgres://app:${pw}@db/app`, { env: {} });
  const b = parseConfig(`postgres://app:${other}@db/app`, { env: {} });
  assert.equal(redactorOf(a).redact(`${pw} ${other}`), `*** ${other}`);
  assert.equal(redactorOf(b).redact(`${pw} ${other}`), `${pw} ***`);
});

Deno.test("a password that is a word of the library's own, or the user name, masks no other word", () => {
  const err = throwsConfigError(() => parseConfig({ password: "postgres", port: "x" }, { env: {} }), {
    path: "database.postgres.port",
  });
  assert.match(err.message, /database\.postgres\.port/);
  const config = parseConfig("postgres://shop:shop@db/shop", { env: {} });
  assert.equal(String(config), "postgres://shop:***@db:5432/shop");
  assert.equal(redactorOf(config).redact('user "shop"'), 'user "shop"');
});

Deno.test("the configuration's redactor knows secrets from every source, in their quoted forms", async () => {
  const [url, env, interpolated, key, phrase] = [password(), password(), password(), password(), password()];
  const pem = `-----BEGIN PRIVATE KEY-----\nMIIEv${key}QIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----`;
  const config = parseConfig(
    { postgres: { password: "${DB_PW}", sslkey: pem, sslpassword: `${phrase} "q"` } },
    { env: { DB_PW: interpolated, PGPASSWORD: env, DATABASE_URL: `postgres://app:${url}@db/app` } },
  );
  const r = redactorOf(config);
  for (const s of [url, env, interpolated, `${phrase} "q"`]) assert.equal(r.redact(`[${s}]`), "[***]", s);
  assert.equal(r.redact(encodeURIComponent(`${phrase} "q"`)), "***");
  assert.equal(r.redact(JSON.stringify(`${phrase} "q"`)), '"***"');
  assert.equal(r.redact(`line: MIIEv${key}QIBADANBgkqhkiG9w0BAQEFAASC`), "line: ***");
  assertSafeConfig(config);
  await using tmp = await tempFiles({ "dewey.yaml": `database:\n  postgres:\n    password: "${url}"\n` });
  const fromFile = await loadConfig(`${tmp.dir}/dewey.yaml`, { env: {} });
  assert.equal(redactorOf(fromFile).redact(url), "***");
});

Deno.test("errors mask secrets known before parsing, even where the value is quoted as another key's", () => {
  const pw = password();
  const err = throwsConfigError(() => parseConfig({ sslmode: pw, host: "${DB_HOST}" }, { env: { PGPASSWORD: pw } }), {
    path: "database.postgres.sslmode",
    message: /found "\*\*\*"$/,
  });
  assert.equal(err.issues.length, 2);
  throwsConfigError(() => parseConfig({ password: "${DB_PW}", sslmode: "${DB_PW}" }, { env: { DB_PW: pw } }), {
    path: "database.postgres.sslmode",
    message: /found "\*\*\*"$/,
  });
});

Deno.test("the redactor is hidden from the configuration's printouts and never prints a secret itself", () => {
  const pw = password();
  const config = parseConfig(`postgres://app:${pw}@db/app`, { env: {} });
  assert.ok(!Object.keys(config).some((k) => k.includes("redact")));
  assert.ok(!("redactor" in JSON.parse(JSON.stringify(config))));
  assertNoSecret(redactorOf(config));
  assert.match(String(redactorOf(config)), /^Redactor\(\d+ secrets\)$/);
});

Deno.test("redactError masks message, stack, issues, fields and causes; redactValue copies plain values", () => {
  const pw = password();
  const r = new Redactor([pw]);
  const cause = Object.assign(new Error(`inner ${pw}`), { detail: `d ${pw}` });
  const error = new ConfigError([{ path: "database", message: `bad ${pw}` }], { cause });
  assert.equal(r.redactError(error), error);
  assertNoSecret(error);
  assert.equal(error.issues[0].message, "bad ***");
  assert.equal((cause as { detail: string }).detail, "d ***");
  const value = { event: "x", nested: [{ error: `e ${pw}` }], n: 1 };
  assert.deepEqual(r.redactValue(value), { event: "x", nested: [{ error: "e ***" }], n: 1 });
  assert.equal(value.nested[0].error, `e ${pw}`, "the original is untouched");
});

Deno.test("short secrets are masked where they stand as a password, not in free text", () => {
  const r = new Redactor(["ab"]);
  assert.equal(r.redact("postgres://u:ab@db/ab"), "postgres://u:***@db/ab");
  assert.equal(r.redact('about a tab: found "ab"'), 'about a tab: found "***"');
  assert.equal(new Redactor(["µ0"]).redact("//app:µ0@db µ0"), "//app:***@db µ0");
  assert.equal(
    redactText("host=x password='a b' k sslpassword=\"c\" sslkey=/k.pem"),
    "host=x password=*** k sslpassword=*** sslkey=***",
  );
});
