/**
 * The basics: connect, query, the tagged template, a checked-out connection,
 * validation, errors, close.
 *
 * Uses `DATABASE_URL`, else `config/dewey.yaml` (the local PostgreSQL):
 *
 * ```sh
 * deno run -A examples/basic.ts
 * DATABASE_URL=postgres://app:secret@db.example.com/app deno run -A examples/basic.ts
 * DATABASE_URL=pglite://memory deno run -A examples/basic.ts   # the embedded database
 * ```
 *
 * @module
 */

import { DatabaseConnection, DatabaseConnectionError, getConnection, loadConfig, QueryError } from "../mod.ts";

const config = await loadConfig(); // DATABASE_URL, $DEWEY_CONFIG or config/dewey.yaml, validated
const db = await getConnection(config); // builds the pool and proves it connects; fails fast with DatabaseConnectionError
console.log(`connected to ${db.config}`); // a password prints as ***

try {
  // Autocommit queries: pg-style results { rows, rowCount, command, fields }.
  const { rows, command } = await db.query("SELECT $1::int AS n", [1]);
  console.log(`${command} $1::int -> ${rows[0].n}`);

  // The tagged template: every ${value} is sent as a parameter, never spliced into the SQL.
  const id = 1;
  const [now] = await db.sql<{ id: number; at: Date }>`SELECT ${id}::int AS id, now() AS at`;
  console.log(`db.sql -> id ${now.id}, at is a ${now.at.constructor.name}`);

  // A checked-out connection in autocommit mode (the seed's db.engine.connect()), returned on scope exit.
  {
    await using conn = await db.engine.connect();
    // A temporary table lives on this connection only, so runs side by side never collide.
    await conn.execute("CREATE TEMP TABLE users (id int PRIMARY KEY, name text NOT NULL)");
    const inserted = await conn.execute("INSERT INTO users VALUES ($1, $2), ($3, $4)", [1, "ada", 2, "alan"]);
    console.log(`${inserted.command} ${inserted.rowCount}`);
    const users = await conn.sql<{ id: number; name: string }>`SELECT * FROM users WHERE id = ${id}`;
    console.log(`users where id = ${id}:`, users);
    // Server errors keep their SQLSTATE, detail and constraint.
    const err = await conn.execute("INSERT INTO users VALUES (1, 'again')").catch((e) => e);
    if (!(err instanceof QueryError)) throw err;
    console.log(`duplicate key -> QueryError ${err.code} on ${err.constraint}`);
    await conn.execute("DROP TABLE users");
  }

  // A round trip; throws DatabaseConnectionError when the database does not answer.
  await db.validateConnection();
  console.log("validateConnection() ok");
} finally {
  await db.close(); // waits for checked-out work (up to close_timeout), then closes every connection
}

// new DatabaseConnection(...) does no I/O: the pool opens on first use.
const lazy = new DatabaseConnection({ postgres: { host: "127.0.0.1", port: 1, dbname: "mydb", user: "user" } }, {
  logger: false,
});
try {
  await lazy.validateConnection(); // nothing listens on port 1
} catch (error) {
  if (!(error instanceof DatabaseConnectionError)) throw error;
  console.log(`nothing listening -> DatabaseConnectionError ${error.code}, retryable: ${error.retryable}`);
} finally {
  await lazy.close();
}
