/**
 * Connection strings as the providers' documentation and dashboards give them (passwords replaced): each
 * pasted as it is must configure what it says, or be refused with what to write instead.
 */

import assert from "node:assert/strict";
import { parseConfig } from "../src/config/parse.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import { assertSafeConfig, throwsConfigError } from "./_config_helpers.ts";

interface Pasted {
  provider: string;
  text: string;
  /** What the configuration must hold. */
  expect?: Partial<Record<keyof DatabaseConfig, unknown>>;
  /** Or the issue it must raise. */
  error?: { path: string; message: RegExp };
}

const PW = "S3cret-Pw!provider";

const PASTED: Pasted[] = [
  {
    provider: "Neon (direct)",
    text:
      `postgresql://neondb_owner:${PW}@ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require`,
    expect: {
      host: "ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech",
      sslmode: "require",
      channel_binding: "require",
    },
  },
  {
    provider: "Neon (pooled)",
    text:
      `postgresql://neondb_owner:${PW}@ep-cool-darkness-a1b2c3d4-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require`,
    expect: { host: "ep-cool-darkness-a1b2c3d4-pooler.us-east-2.aws.neon.tech", dbname: "neondb", port: 5432 },
  },
  {
    provider: "Neon (endpoint option, for clients without SNI)",
    text:
      `postgresql://alex:${PW}@ep-cool-darkness-123456.us-east-2.aws.neon.tech/dbname?sslmode=require&options=endpoint%3Dep-cool-darkness-123456`,
    expect: { options: "endpoint=ep-cool-darkness-123456" },
  },
  {
    provider: "Supabase (direct)",
    text: `postgresql://postgres:${PW}@db.abcdefghijklmnopqrst.supabase.co:5432/postgres`,
    expect: { host: "db.abcdefghijklmnopqrst.supabase.co", user: "postgres", pgbouncer: false },
  },
  {
    provider: "Supabase (session pooler)",
    text: `postgresql://postgres.abcdefghijklmnopqrst:${PW}@aws-0-us-east-1.pooler.supabase.com:5432/postgres`,
    expect: { user: "postgres.abcdefghijklmnopqrst", port: 5432 },
  },
  {
    provider: "Supabase (transaction pooler, as the dashboard gives it)",
    text: `postgresql://postgres.abcdefghijklmnopqrst:${PW}@aws-0-us-east-1.pooler.supabase.com:6543/postgres`,
    error: { path: "database.postgres.pgbouncer", message: /Supabase's transaction pooler.*set pgbouncer: true/ },
  },
  {
    provider: "Supabase (dedicated PgBouncer)",
    text: `postgresql://postgres:${PW}@db.abcdefghijklmnopqrst.supabase.co:6543/postgres`,
    error: { path: "database.postgres.pgbouncer", message: /\?pgbouncer=true/ },
  },
  {
    provider: "Supabase (transaction pooler, for ORMs)",
    text:
      `postgresql://postgres.abcdefghijklmnopqrst:${PW}@aws-1-eu-central-1.pooler.supabase.com:6543/postgres?pgbouncer=true`,
    expect: { pgbouncer: true, prepare: false, port: 6543 },
  },
  {
    provider: "Supabase (Prisma's string)",
    text:
      `postgresql://postgres.abcdefghijklmnopqrst:${PW}@aws-0-us-east-1.pooler.supabase.com:6543/postgres?pgbouncer=true&connection_limit=1`,
    error: { path: "database.postgres.connection_limit", message: /libpq's equivalent is pool_max/ },
  },
  {
    provider: "Amazon RDS (verify-full with the RDS bundle)",
    text:
      `postgresql://dbadmin:${PW}@mydb.c9akciq32.us-east-1.rds.amazonaws.com:5432/postgres?sslmode=verify-full&sslrootcert=/opt/rds/global-bundle.pem`,
    expect: { sslmode: "verify-full", sslrootcert: "/opt/rds/global-bundle.pem" },
  },
  {
    provider: "Amazon Aurora (cluster and reader endpoints)",
    text:
      `postgres://dbadmin:${PW}@mycluster.cluster-c9akciq32.eu-west-1.rds.amazonaws.com:5432,mycluster.cluster-ro-c9akciq32.eu-west-1.rds.amazonaws.com:5432/app?target_session_attrs=read-write&sslmode=verify-full&sslrootcert=/certs/eu-west-1-bundle.pem`,
    expect: { target_session_attrs: "read-write", port: 5432 },
  },
  {
    provider: "Amazon RDS (psql keyword/value)",
    text:
      `host=mydb.c9akciq32.us-east-1.rds.amazonaws.com port=5432 dbname=postgres user=dbadmin password=${PW} sslmode=verify-full sslrootcert=/opt/rds/global-bundle.pem`,
    expect: { host: "mydb.c9akciq32.us-east-1.rds.amazonaws.com", sslmode: "verify-full" },
  },
  {
    provider: "Google Cloud SQL (Unix socket)",
    text: `postgresql://app:${PW}@/appdb?host=/cloudsql/my-project:us-central1:my-instance`,
    expect: { host: "/cloudsql/my-project:us-central1:my-instance", dbname: "appdb" },
  },
  {
    provider: "Google Cloud SQL (keyword/value socket)",
    text: `host=/cloudsql/my-project:us-central1:my-instance dbname=appdb user=app password=${PW}`,
    expect: { host: "/cloudsql/my-project:us-central1:my-instance" },
  },
  {
    provider: "Azure (flexible server)",
    text: `postgresql://myadmin:${PW}@mydemoserver.postgres.database.azure.com:5432/postgres?sslmode=require`,
    expect: { host: "mydemoserver.postgres.database.azure.com", sslmode: "require" },
  },
  {
    provider: "Azure (a password holding '@', unencoded)",
    text:
      `postgresql://blogadmin:YourStr0ngP@ss!@shared-postgres.postgres.database.azure.com:5432/blogdb?sslmode=require`,
    expect: { user: "blogadmin", host: "shared-postgres.postgres.database.azure.com", dbname: "blogdb" },
  },
  {
    provider: "Azure (single server: user@server, psql keyword/value)",
    text:
      `host=mydemoserver.postgres.database.azure.com port=5432 dbname=postgres user=myadmin@mydemoserver password=${PW} sslmode=require`,
    expect: { user: "myadmin@mydemoserver" },
  },
  {
    provider: "Heroku",
    text: `postgres://u2s8d9f0:${PW}@ec2-3-219-135-162.compute-1.amazonaws.com:5432/d4v5b6n7m8`,
    expect: { port: 5432, dbname: "d4v5b6n7m8", sslmode: "prefer" },
  },
  {
    provider: "Heroku (guides' ?ssl=true, which libpq reads as sslmode=require)",
    text: `postgres://u2s8d9f0:${PW}@ec2-3-219-135-162.compute-1.amazonaws.com:5432/d4v5b6n7m8?ssl=true`,
    expect: { sslmode: "require" },
  },
  {
    provider: "Heroku (node-postgres guides' sslmode=no-verify)",
    text: `postgres://u2s8d9f0:${PW}@ec2-3-219-135-162.compute-1.amazonaws.com:5432/d4v5b6n7m8?sslmode=no-verify`,
    error: { path: "database.postgres.sslmode", message: /libpq's equivalent is sslmode=require/ },
  },
  {
    provider: "Render (external)",
    text: `postgresql://app_user:${PW}@dpg-cn1abc2i7b3c73f1q0g0-a.oregon-postgres.render.com/app_db`,
    expect: { host: "dpg-cn1abc2i7b3c73f1q0g0-a.oregon-postgres.render.com", port: 5432 },
  },
  {
    provider: "Render (internal)",
    text: `postgresql://app_user:${PW}@dpg-cn1abc2i7b3c73f1q0g0-a/app_db`,
    expect: { host: "dpg-cn1abc2i7b3c73f1q0g0-a" },
  },
  {
    provider: "Railway (public proxy)",
    text: `postgresql://postgres:${PW}@roundhouse.proxy.rlwy.net:45678/railway`,
    expect: { port: 45678, dbname: "railway" },
  },
  {
    provider: "Railway (private network)",
    text: `postgresql://postgres:${PW}@postgres.railway.internal:5432/railway`,
    expect: { host: "postgres.railway.internal" },
  },
  {
    provider: "DigitalOcean",
    text:
      `postgresql://doadmin:${PW}@db-postgresql-nyc3-12345-do-user-1234567-0.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require`,
    expect: { port: 25060, dbname: "defaultdb", sslmode: "require" },
  },
  {
    provider: "DigitalOcean (connection pool, with its CA)",
    text:
      `postgresql://doadmin:${PW}@db-postgresql-nyc3-12345-do-user-1234567-0.b.db.ondigitalocean.com:25061/pool-1?sslmode=verify-full&sslrootcert=/etc/ssl/ca-certificate.crt`,
    expect: { port: 25061, dbname: "pool-1" },
  },
  {
    provider: "Aiven",
    text: `postgres://avnadmin:${PW}@pg-3b8d4ed6-myproject.aivencloud.com:20985/defaultdb?sslmode=require`,
    expect: { port: 20985, user: "avnadmin" },
  },
  {
    provider: "Crunchy Bridge",
    text: `postgres://application:${PW}@p.vbjrfujv5beutaoelw725gvi3i.db.postgresbridge.com:5432/postgres`,
    expect: { host: "p.vbjrfujv5beutaoelw725gvi3i.db.postgresbridge.com", user: "application" },
  },
  {
    provider: "Vercel Postgres (Prisma URL)",
    text:
      `postgres://default:${PW}@ep-cool-darkness-a1b2c3d4-pooler.us-east-1.postgres.vercel-storage.com:5432/verceldb?pgbouncer=true&connect_timeout=15`,
    expect: { pgbouncer: true, connect_timeout: 15_000 },
  },
  {
    provider: "Timescale",
    text: `postgres://tsdbadmin:${PW}@abc123xyz.q1w2e3r4t5.tsdb.cloud.timescale.com:36334/tsdb?sslmode=require`,
    expect: { port: 36334, dbname: "tsdb" },
  },
];

Deno.test("providers: strings pasted from their documentation configure what they say", () => {
  for (const p of PASTED) {
    if (p.error) {
      throwsConfigError(() => parseConfig(p.text, { env: {} }), { path: p.error.path, message: p.error.message });
      continue;
    }
    let config: DatabaseConfig;
    try {
      config = parseConfig(p.text, { env: {} });
    } catch (error) {
      assert.fail(`${p.provider}: ${(error as Error).message}`);
    }
    assertSafeConfig(config);
    if (p.text.includes(PW)) assert.equal(config.password?.reveal(), PW, p.provider);
    for (const [key, value] of Object.entries(p.expect ?? {})) {
      assert.deepEqual(config[key as keyof DatabaseConfig], value, `${p.provider}: ${key}`);
    }
  }
});

Deno.test("providers: a transaction pooler the string does not mark is accepted once pgbouncer says either way", () => {
  const base = `postgresql://postgres.ref:${PW}@aws-0-us-east-1.pooler.supabase.com:6543/postgres`;
  assert.equal(parseConfig(`${base}?pgbouncer=false`, { env: {} }).pgbouncer, false, "an explicit choice stands");
  assert.equal(
    parseConfig({ postgres: { host: "x.pooler.supabase.com", port: 6543, pooler: "transaction" } }, {
      env: {},
    }).pgbouncer,
    true,
  );
});
