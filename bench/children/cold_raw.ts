// Cold start child: raw postgres.js from a new process to the first row. Prints "ROW" when it has it. An optional
// second argument is a module imported before connecting (zod/mini, @dewey/db), to measure its share alone.
import postgres from "postgres";

if (Deno.args[1]) await import(Deno.args[1]);
const sql = postgres(Deno.args[0], { ssl: false, max: 10, onnotice: () => {} });
const rows = await sql`SELECT 1 AS one`;
if (rows[0]?.one !== 1) throw new Error(`unexpected row ${JSON.stringify(rows)}`);
await Deno.stdout.write(new TextEncoder().encode("ROW\n"));
await sql.end({ timeout: 1 });
