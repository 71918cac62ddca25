/**
 * PgBouncer (Debian's `pgbouncer` package) in front of a throwaway cluster, for tests.
 *
 * {@linkcode startPgBouncer} writes a config and a `userlist.txt` holding the SCRAM verifier read from
 * `pg_authid` into a temp directory, starts `pgbouncer` in the foreground on a free 127.0.0.1 port
 * (as the `postgres` user when we are root: pgbouncer refuses to run as root) and waits until it
 * accepts connections. {@linkcode PgBouncer.stop} (or `await using`) stops it and removes the directory;
 * the child process is awaited, so Deno's sanitizers stay happy.
 *
 * Needs `--allow-run --allow-read --allow-write --allow-net --allow-env` (or `-A`).
 *
 * @example
 * ```ts ignore
 * await using pg = await startCluster({ password: "pw", hba: SCRAM_HBA });
 * await using bouncer = await startPgBouncer(pg, { poolSize: 2 });
 * const url = bouncer.url("postgres", "postgres", "pw");
 * ```
 * @module
 */

import type { Cluster } from "./cluster.ts";
import { freePort } from "./net.ts";

/**
 * pg_hba.conf lines requiring SCRAM over TCP (replication stays trusted for basebackups).
 *
 * @example
 * ```ts ignore
 * await using pg = await startCluster({ password: "pw", hba: [...SCRAM_HBA] });
 * ```
 */
export const SCRAM_HBA: readonly string[] = [
  "local all all trust",
  "host all all 127.0.0.1/32 scram-sha-256",
  "host all all ::1/128 scram-sha-256",
  "local replication all trust",
  "host replication all 127.0.0.1/32 trust",
];

/** Options of {@linkcode startPgBouncer}. */
export interface PgBouncerOptions {
  /** `pool_mode` (default `transaction`). */
  poolMode?: "session" | "transaction" | "statement";
  /** `default_pool_size`: server connections per database/user pair (default 2). */
  poolSize?: number;
  /** The user whose SCRAM verifier goes into userlist.txt (default `postgres`; it needs a password). */
  user?: string;
  /** Extra `[pgbouncer]` settings, written as is. */
  settings?: Record<string, string | number>;
}

/** A running PgBouncer made by {@linkcode startPgBouncer}. */
export interface PgBouncer extends AsyncDisposable {
  /** `127.0.0.1`. */
  readonly host: string;
  /** The port PgBouncer listens on. */
  readonly port: number;
  /** A `postgres://` URL through PgBouncer. */
  url(db?: string, user?: string, password?: string): string;
  /** PgBouncer's log so far. */
  log(): Promise<string>;
  /** Stops PgBouncer (SIGINT), waits for it to exit and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

/**
 * Starts PgBouncer in front of `cluster` (which must be running and have a SCRAM password for `user`).
 *
 * @example
 * ```ts ignore
 * await using bouncer = await startPgBouncer(pg, { poolMode: "transaction", poolSize: 2 });
 * const sql = postgres(bouncer.url("postgres", "postgres", "pw"), { prepare: false });
 * ```
 */
export async function startPgBouncer(cluster: Cluster, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const user = options.user ?? "postgres";
  const verifier = await cluster.psql(
    `SELECT rolpassword FROM pg_authid WHERE rolname = '${user.replaceAll("'", "''")}'`,
  );
  if (!verifier.startsWith("SCRAM-SHA-256$")) throw new Error(`${user} has no SCRAM password on the cluster`);
  const ids = await owner();
  const dir = await Deno.makeTempDir({ prefix: "dewey-pgbouncer-" });
  if (ids) await Deno.chown(dir, ids.uid, ids.gid);
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  await Deno.writeTextFile(`${dir}/userlist.txt`, `${quote(user)} ${quote(verifier)}\n`, { mode: 0o600 });
  if (ids) await Deno.chown(`${dir}/userlist.txt`, ids.uid, ids.gid);
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const settings: Record<string, string | number> = {
      listen_addr: HOST,
      listen_port: port,
      unix_socket_dir: "",
      auth_type: "scram-sha-256",
      auth_file: `${dir}/userlist.txt`,
      pool_mode: options.poolMode ?? "transaction",
      default_pool_size: options.poolSize ?? 2,
      max_client_conn: 500,
      logfile: `${dir}/pgbouncer.log`,
      ...options.settings,
    };
    const ini = `[databases]\n* = host=${HOST} port=${cluster.port}\n\n[pgbouncer]\n` +
      Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";
    await Deno.writeTextFile(`${dir}/pgbouncer.ini`, ini, { mode: 0o600 });
    if (ids) await Deno.chown(`${dir}/pgbouncer.ini`, ids.uid, ids.gid);
    const child = new Deno.Command("pgbouncer", {
      args: [`${dir}/pgbouncer.ini`],
      // Its own directory as the working directory: run as postgres, it may not enter the checkout's (a 0700
      // temp directory, as `mktemp -d` makes).
      cwd: dir,
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/bin" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const bouncer = new Running(dir, port, child);
    const up = await bouncer.ready();
    if (up === true) return bouncer;
    const log = await bouncer.log();
    await bouncer.stop();
    if (attempt < 5 && /Address already in use|could not bind/i.test(log)) continue;
    throw new Error(`pgbouncer did not start (${up}):\n${log.split("\n").slice(-20).join("\n")}`);
  }
}

class Running implements PgBouncer {
  readonly host = HOST;
  #stopped: Promise<void> | undefined;
  #exited = false;
  readonly #status: Promise<Deno.CommandStatus>;

  constructor(readonly dir: string, readonly port: number, readonly child: Deno.ChildProcess) {
    this.#status = child.status.finally(() => this.#exited = true);
  }

  url(db = "postgres", user = "postgres", password?: string): string {
    const enc = encodeURIComponent;
    const auth = password === undefined ? enc(user) : `${enc(user)}:${enc(password)}`;
    return `postgres://${auth}@${HOST}:${this.port}/${enc(db)}`;
  }

  /** True once a TCP connection is accepted; the exit status text if pgbouncer died; gives up after 10 s. */
  async ready(): Promise<true | string> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.#exited) return `exited with ${(await this.#status).code}`;
      try {
        const conn = await Deno.connect({ hostname: HOST, port: this.port });
        conn.close();
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return "no listener after 10 s";
  }

  async log(): Promise<string> {
    try {
      return await Deno.readTextFile(`${this.dir}/pgbouncer.log`);
    } catch {
      return "(no pgbouncer log)";
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (!this.#exited) {
        try {
          this.child.kill("SIGINT"); // immediate shutdown: drops clients, closes server connections
        } catch { /* already gone */ }
      }
      const killer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await this.#status;
      clearTimeout(killer);
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    })();
    return this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** uid/gid of the `postgres` user when we are root (pgbouncer will not run as root); undefined otherwise. */
async function owner(): Promise<{ uid: number; gid: number } | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const id = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, "postgres"], stdout: "piped", stderr: "null" }).output();
    if (out.code !== 0) throw new Error('running as root but there is no "postgres" user for pgbouncer');
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  return { uid: await id("-u"), gid: await id("-g") };
}
