/**
 * Throwaway PostgreSQL clusters for tests.
 *
 * Each cluster lives in its own temp directory (data dir, server log and unix socket), listens on
 * 127.0.0.1 on a free port and is removed by {@linkcode Cluster.destroy} (or `await using`).
 *
 * Speed: `initdb` runs once per distinct (PostgreSQL version, `initdbArgs`) into a template
 * cache, `<tmp>/dewey-pg-templates-<uid>/` (~40 MB per entry; entries unused for 7 days are swept),
 * shared by test files, parallel workers, processes and later runs; every cluster then starts from a
 * `cp -a` copy of it. `DEWEY_PG_TEMPLATE=off` (or `template: false`) runs initdb for each cluster.
 * Clusters copied from one template share their system identifier, which only matters for replication
 * between two of them (use {@linkcode Cluster.basebackupReplica} for that).
 *
 * When running as root, every server-side program runs as the `postgres` user through
 * `runuser -u postgres --` and the temp directories are owned by that user.
 *
 * Needs `--allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys` (or `-A`).
 *
 * Environment overrides: `DEWEY_PG_BINDIR` (directory holding initdb, pg_ctl, postgres, ...),
 * `DEWEY_PG_TMPDIR` (parent of the temp directories; default `/dev/shm` if it is a tmpfs with 2 GiB free,
 * else `/tmp` as root, else `$TMPDIR` or `/tmp`),
 * `DEWEY_PG_TEMPLATE=off`.
 *
 * @example
 * ```ts ignore
 * await using pg = await startCluster({ settings: { idle_session_timeout: "1s" } });
 * assert.equal(await pg.psql("select 1"), "1");
 * const url = pg.url("postgres");
 * ```
 * @module
 */

import { freePort } from "./net.ts";

/** A postgresql.conf value. Strings are single-quoted, booleans become `on`/`off`, numbers are written as is. */
export type SettingValue = string | number | boolean;

/** `pg_ctl stop` shutdown mode. */
export type StopMode = "smart" | "fast" | "immediate";

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  /** postgresql.conf settings, appended after the defaults (`fsync = off`); later lines win. */
  settings?: Record<string, SettingValue>;
  /**
   * pg_hba.conf lines, replacing the default (trust for `local`, 127.0.0.1/32 and ::1/128, for all
   * databases and for `replication`). Add `host replication all 127.0.0.1/32 trust` if you need
   * {@linkcode Cluster.basebackupReplica} with your own lines.
   */
  hba?: string[];
  /**
   * Password of the `postgres` superuser, stored as SCRAM-SHA-256 (by `initdb --pwfile` with `template: false`,
   * else by `ALTER ROLE` in single-user mode on the copied template). The default
   * hba lines still trust everyone: pass `hba` with `scram-sha-256` lines to require it.
   * {@linkcode Cluster.psql} sends it by default.
   */
  password?: string;
  /**
   * Extra files written into the data directory before the server starts (path relative to the data
   * directory, e.g. `server.crt`, `server.key`): mode 0600, owned by `postgres` when running as root.
   */
  files?: Record<string, string | Uint8Array>;
  /** Extra `initdb` arguments, after the defaults (`--no-sync -A trust -U postgres --auth-local=trust -E UTF8 --locale=C`). */
  initdbArgs?: string[];
  /**
   * Copy a cached `initdb` template instead of running `initdb` for this cluster. Default `true`
   * (`false` when `$DEWEY_PG_TEMPLATE` is `off`).
   */
  template?: boolean;
}

/** Options of {@linkcode Cluster.basebackupReplica}. */
export interface ReplicaOptions {
  /** postgresql.conf settings for the standby, appended after the ones copied from the primary. */
  settings?: Record<string, SettingValue>;
  /** Extra files written into the standby's data directory before it starts (see {@linkcode ClusterOptions.files}). */
  files?: Record<string, string | Uint8Array>;
  /** Wait until `pg_stat_wal_receiver` reports `streaming` (default `true`, up to 15 s). */
  waitStreaming?: boolean;
}

/**
 * libpq connection parameters for {@linkcode Cluster.psql}, e.g. `{ host: "localhost", sslmode: "verify-full" }`.
 * An `undefined` value removes a default (e.g. `{ password: undefined }` connects without the cluster's password).
 */
export type ConnParams = Record<string, string | number | undefined>;

/** Paths of the PostgreSQL programs in use. */
export interface PgBins {
  /** Directory of the server programs. */
  dir: string;
  /** Major version, from `pg_ctl --version`. */
  version: number;
  /** Output of `pg_ctl --version`, e.g. `pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`. */
  versionString: string;
  /** Absolute path of `initdb`. */
  initdb: string;
  /** Absolute path of `pg_ctl`. */
  pg_ctl: string;
  /** Absolute path of `postgres`. */
  postgres: string;
  /** Absolute path of `pg_basebackup`. */
  pg_basebackup: string;
  /** Absolute path of `psql`. */
  psql: string;
}

const HOST = "127.0.0.1";
const setPort = Symbol("setPort");

// ---------------------------------------------------------------------------------------------
// Environment: binaries, root, postgres user

let binsPromise: Promise<PgBins> | undefined;

/**
 * Finds the PostgreSQL programs: `$DEWEY_PG_BINDIR`, else the directory of a `pg_ctl` found on PATH
 * (following symlinks, if `initdb` and `postgres` sit next to it), else the highest
 * `/usr/lib/postgresql/<version>/bin`. Cached per process.
 */
export function findPgBins(): Promise<PgBins> {
  binsPromise ??= locateBins();
  binsPromise.catch(() => (binsPromise = undefined));
  return binsPromise;
}

const STOP_SIGNALS: Record<StopMode, Deno.Signal> = { smart: "SIGTERM", fast: "SIGINT", immediate: "SIGQUIT" };

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function isServerBinDir(dir: string): Promise<boolean> {
  return (await isFile(`${dir}/pg_ctl`)) && (await isFile(`${dir}/initdb`)) && (await isFile(`${dir}/postgres`));
}

async function locateBins(): Promise<PgBins> {
  let dir: string | undefined = Deno.env.get("DEWEY_PG_BINDIR");
  if (dir && !(await isServerBinDir(dir))) throw new Error(`DEWEY_PG_BINDIR=${dir} holds no initdb/pg_ctl/postgres`);
  if (!dir) {
    for (const p of (Deno.env.get("PATH") ?? "").split(":")) {
      if (!p || !(await isFile(`${p}/pg_ctl`))) continue;
      const real = await Deno.realPath(`${p}/pg_ctl`);
      const d = real.slice(0, real.lastIndexOf("/"));
      if (await isServerBinDir(d)) {
        dir = d;
        break;
      }
    }
  }
  if (!dir) {
    const versions: number[] = [];
    try {
      for await (const e of Deno.readDir("/usr/lib/postgresql")) {
        const v = Number(e.name);
        if (Number.isFinite(v) && (await isServerBinDir(`/usr/lib/postgresql/${e.name}/bin`))) versions.push(v);
      }
    } catch { /* no such directory */ }
    versions.sort((a, b) => b - a);
    if (versions.length) dir = `/usr/lib/postgresql/${versions[0]}/bin`;
  }
  if (!dir) throw new Error("PostgreSQL server programs not found (PATH, /usr/lib/postgresql/*/bin, $DEWEY_PG_BINDIR)");
  const out = await run(`${dir}/pg_ctl`, ["--version"]);
  const version = Number(/(\d+)(?:\.\d+)?/.exec(out.stdout)?.[1] ?? NaN);
  const tool = async (name: string) => (await isFile(`${dir}/${name}`)) ? `${dir}/${name}` : await onPath(name);
  return {
    dir,
    version,
    versionString: out.stdout.trim(),
    initdb: `${dir}/initdb`,
    pg_ctl: `${dir}/pg_ctl`,
    postgres: `${dir}/postgres`,
    pg_basebackup: await tool("pg_basebackup"),
    psql: await tool("psql"),
  };
}

async function onPath(name: string): Promise<string> {
  for (const p of (Deno.env.get("PATH") ?? "").split(":")) {
    if (p && (await isFile(`${p}/${name}`))) return `${p}/${name}`;
  }
  throw new Error(`${name} not found on PATH`);
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

interface PgUser {
  uid: number;
  gid: number;
  runuser: string;
}

let pgUserPromise: Promise<PgUser> | undefined;
let runuserPath: string | undefined;

/** uid/gid of the `postgres` user and the path of `runuser` (only used when running as root). */
function pgUser(): Promise<PgUser> {
  pgUserPromise ??= (async () => {
    const [u, g] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    if (u.code !== 0 || g.code !== 0) throw new Error(`running as root but no "postgres" user: ${u.stderr}`);
    let runuser = "";
    for (const p of ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]) {
      if (await isFile(p)) {
        runuser = p;
        break;
      }
    }
    runuser ||= await onPath("runuser");
    runuserPath = runuser;
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()), runuser };
  })();
  pgUserPromise.catch(() => (pgUserPromise = undefined));
  return pgUserPromise;
}

// ---------------------------------------------------------------------------------------------
// Processes and files

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Run as the postgres user (through runuser) when we are root. */
  asPostgres?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Text for the program's stdin (else stdin is /dev/null). */
  stdin?: string;
}

/** Runs a program with a clean environment (no PG* variables leak in), awaiting it fully. */
async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  let program = cmd;
  let argv = args;
  if (opts.asPostgres && isRoot()) {
    const user = await pgUser();
    program = user.runuser;
    argv = ["-u", "postgres", "--", cmd, ...args];
  }
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: "C",
    LC_ALL: "C",
    TZ: "UTC",
    ...opts.env,
  };
  const command = new Deno.Command(program, {
    args: argv,
    env,
    clearEnv: true,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let out: Deno.CommandOutput;
  if (opts.stdin === undefined) out = await command.output();
  else {
    const child = command.spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(opts.stdin)).finally(() => writer.close());
    out = await child.output();
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const name = cmd.slice(cmd.lastIndexOf("/") + 1);
    throw new Error(`${name} ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r;
}

/** Gives a path to the postgres user when we are root. */
async function own(path: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = await pgUser();
  await Deno.chown(path, uid, gid);
}

/** Writes a file readable only by the server's user (0600, owned by postgres when root). */
async function writeServerFile(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  if (typeof content === "string") await Deno.writeTextFile(path, content, { mode });
  else await Deno.writeFile(path, content, { mode });
  await Deno.chmod(path, mode); // mode above only applies on creation
  await own(path);
}

let parentPromise: Promise<string> | undefined;

/**
 * Parent of our temp dirs: `$DEWEY_PG_TMPDIR`; else `/dev/shm` when it is a world-writable tmpfs with
 * at least 2 GiB free (data dirs in RAM: copying a template takes ~40 ms there against 100-600 ms on
 * this VM's disk); else `/tmp` as root (postgres must reach it), else `$TMPDIR` or `/tmp`.
 */
function tmpParent(): Promise<string> {
  parentPromise ??= (async () => {
    const env = Deno.env.get("DEWEY_PG_TMPDIR");
    if (env) return env;
    try {
      const st = await Deno.stat("/dev/shm");
      if (st.isDirectory && ((st.mode ?? 0) & 0o1777) === 0o1777) {
        const df = await run("df", ["-Pk", "/dev/shm"]);
        const availKb = Number(df.stdout.trim().split("\n").at(-1)?.split(/\s+/)[3]);
        if (df.code === 0 && availKb >= 2 * 1024 * 1024) return "/dev/shm";
      }
    } catch { /* no /dev/shm */ }
    return isRoot() ? "/tmp" : Deno.env.get("TMPDIR") ?? "/tmp";
  })();
  return parentPromise;
}

/** Creates a temp directory the server's user owns (0700). */
async function makeRoot(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix, dir: await tmpParent() });
  await own(dir);
  return dir;
}

function confValue(v: SettingValue): string {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number") return String(v);
  return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

function confLines(settings: Record<string, SettingValue>): string {
  let text = "";
  for (const [k, v] of Object.entries(settings)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(k)) throw new Error(`bad setting name: ${JSON.stringify(k)}`);
    text += `${k} = ${confValue(v)}\n`;
  }
  return text;
}

function shellQuote(v: string): string {
  return `'${v.replaceAll("'", "'\\''")}'`;
}

function conninfoValue(v: string): string {
  return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

async function writeDataFiles(dataDir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const parts = rel.split("/");
    if (rel.startsWith("/") || parts.some((p) => p === ".." || p === "" || p === ".")) {
      throw new Error(`files: path must be relative to the data directory: ${JSON.stringify(rel)}`);
    }
    let dir = dataDir;
    for (const p of parts.slice(0, -1)) {
      dir = `${dir}/${p}`;
      try {
        await Deno.mkdir(dir, { mode: 0o700 });
        await own(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
    await writeServerFile(`${dataDir}/${rel}`, content);
  }
}

/** The default pg_hba.conf lines. */
export const DEFAULT_HBA: readonly string[] = [
  "local all all trust",
  "host all all 127.0.0.1/32 trust",
  "host all all ::1/128 trust",
  "local replication all trust",
  "host replication all 127.0.0.1/32 trust",
  "host replication all ::1/128 trust",
];

/** Settings every cluster gets before its own. */
export const DEFAULT_SETTINGS: Readonly<Record<string, SettingValue>> = { fsync: false };

// ---------------------------------------------------------------------------------------------
// Templates and process-exit cleanup

const templates = new Map<string, Promise<string>>();
const liveClusters = new Set<Cluster>();
let unloadHooked = false;

function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  // Safety net for clusters a test forgot to destroy: synchronous, at process (or worker) exit.
  globalThis.addEventListener("unload", () => {
    for (const c of liveClusters) c.destroySync();
  });
}

async function initdb(bins: PgBins, dataDir: string, root: string, initdbArgs: string[], password?: string) {
  const args = [
    "-D",
    dataDir,
    "--no-sync",
    "-A",
    "trust",
    "-U",
    "postgres",
    "--auth-local=trust",
    "-E",
    "UTF8",
    "--locale=C",
  ];
  const pwfile = `${root}/pwfile`;
  if (password !== undefined) {
    await writeServerFile(pwfile, password + "\n");
    args.push(`--pwfile=${pwfile}`);
  }
  try {
    await runOk(bins.initdb, [...args, ...initdbArgs], { asPostgres: true });
  } finally {
    if (password !== undefined) await Deno.remove(pwfile).catch(() => {});
  }
}

const TEMPLATE_FORMAT = 1;
const TEMPLATE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * The template cache directory, `<tmp>/dewey-pg-templates-<uid>`: created 0755 if missing (postgres must
 * traverse it to run initdb in it); refused if someone else owns it.
 */
async function templateCacheDir(): Promise<string> {
  const dir = `${await tmpParent()}/dewey-pg-templates-${Deno.uid()}`;
  try {
    await Deno.mkdir(dir, { mode: 0o755 });
    await Deno.chmod(dir, 0o755);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  const st = await Deno.lstat(dir);
  if (!st.isDirectory || st.uid !== Deno.uid()) throw new Error(`${dir} is not a directory of ours`);
  return dir;
}

/** Removes unfinished builds of dead processes and templates unused for a week. Best effort. */
async function sweepTemplateCache(cache: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(cache)) {
      const path = `${cache}/${e.name}`;
      const build = /^build-(\d+)-/.exec(e.name);
      let stale: boolean;
      if (build) stale = Number(build[1]) !== Deno.pid && !(await exists(`/proc/${build[1]}`));
      else stale = Date.now() - ((await Deno.lstat(path)).mtime?.getTime() ?? Date.now()) > TEMPLATE_MAX_AGE_MS;
      if (stale) await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  } catch { /* best effort */ }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Data directory of an initdb'd template for these arguments, from a cache shared by the test files
 * (each runs in its own worker), concurrent processes and later runs. A template is built in
 * `build-<pid>-*` and renamed into place when complete, so a reader never sees a partial one.
 */
function template(bins: PgBins, initdbArgs: string[]): Promise<string> {
  const id = JSON.stringify([TEMPLATE_FORMAT, bins.dir, bins.versionString, initdbArgs]);
  let p = templates.get(id);
  if (!p) {
    p = (async () => {
      const cache = await templateCacheDir();
      const final = `${cache}/${(await sha256Hex(id)).slice(0, 24)}`;
      if (await exists(`${final}/complete`)) {
        const now = new Date();
        await Deno.utime(final, now, now).catch(() => {});
        return `${final}/data`;
      }
      await sweepTemplateCache(cache);
      const build = await Deno.makeTempDir({ dir: cache, prefix: `build-${Deno.pid}-` });
      try {
        await own(build);
        await initdb(bins, `${build}/data`, build, initdbArgs);
        await Deno.writeTextFile(`${build}/complete`, JSON.stringify([bins.versionString, initdbArgs]) + "\n");
        try {
          await Deno.rename(build, final);
        } catch (e) {
          // Another worker or process finished the same template first: use theirs.
          if (!(await exists(`${final}/complete`))) throw e;
          await Deno.remove(build, { recursive: true });
        }
      } catch (e) {
        await Deno.remove(build, { recursive: true }).catch(() => {});
        throw e;
      }
      return `${final}/data`;
    })();
    templates.set(id, p);
    p.catch(() => templates.delete(id));
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Cluster

/** A running (or stopped) throwaway PostgreSQL server. Create one with {@linkcode startCluster}. */
export class Cluster implements AsyncDisposable {
  /** Address the server listens on (TCP only there; plus a unix socket in {@linkcode socketDir}). */
  readonly host = HOST;
  #port: number;
  /** Temp directory holding everything of this cluster; removed by {@linkcode destroy}. */
  readonly rootDir: string;
  /** The data directory (`PGDATA`). */
  readonly dataDir: string;
  /** Unix socket directory (`-k`). */
  readonly socketDir: string;
  /** Server log file (`pg_ctl -l`). */
  readonly logFile: string;
  /** The `postgres` superuser password, if one was set. */
  readonly password: string | undefined;
  /** The programs in use. */
  readonly bins: PgBins;
  #running = false;
  #destroyed: Promise<void> | undefined;

  /** @internal Use {@linkcode startCluster} or {@linkcode Cluster.basebackupReplica}. */
  constructor(bins: PgBins, rootDir: string, port: number, password: string | undefined) {
    this.bins = bins;
    this.rootDir = rootDir;
    this.dataDir = `${rootDir}/data`;
    this.socketDir = rootDir;
    this.logFile = `${rootDir}/server.log`;
    this.#port = port;
    this.password = password;
  }

  /** TCP port (a free one picked at creation; kept across restarts). */
  get port(): number {
    return this.#port;
  }

  /** @internal Sets the port before the first start. */
  [setPort](port: number): void {
    this.#port = port;
  }

  /** Whether the server was started by us and not stopped since. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * A `postgres://` URL for this server. The password is included only when given (URL-encoded).
   * @param db database name (default `postgres`)
   * @param user user name (default `postgres`)
   * @param password password to embed, if any
   */
  url(db = "postgres", user = "postgres", password?: string): string {
    const enc = encodeURIComponent;
    const auth = password === undefined ? enc(user) : `${enc(user)}:${enc(password)}`;
    return `postgres://${auth}@${HOST}:${this.port}/${enc(db)}`;
  }

  /** Tail of the server log written since byte `from` (default: last 40 lines of the whole log). */
  async logTail(from = 0, lines = 40): Promise<string> {
    try {
      const bytes = await Deno.readFile(this.logFile);
      return new TextDecoder().decode(bytes.subarray(from)).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no server log)";
    }
  }

  /** The whole server log. */
  async log(): Promise<string> {
    return await Deno.readTextFile(this.logFile);
  }

  async #logSize(): Promise<number> {
    try {
      return (await Deno.stat(this.logFile)).size;
    } catch {
      return 0;
    }
  }

  /** Starts the server (`pg_ctl start -w -t 30`) on {@linkcode port}. Throws with the server log tail on failure. */
  async start(): Promise<void> {
    if (this.#destroyed) throw new Error("cluster destroyed");
    if (this.#running) return;
    const from = await this.#logSize();
    if (from === 0) await writeServerFile(this.logFile, "", 0o600);
    // pg_ctl hands -o to /bin/sh: quote the path.
    const opts = `-p ${this.port} -k ${shellQuote(this.socketDir)} -c listen_addresses=${HOST}`;
    const r = await run(this.bins.pg_ctl, [
      "start",
      "-w",
      "-t",
      "30",
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-o",
      opts,
    ], { asPostgres: true });
    if (r.code !== 0) {
      // A timed-out start may leave a postmaster behind.
      await run(this.bins.pg_ctl, ["stop", "-m", "immediate", "-w", "-D", this.dataDir], { asPostgres: true });
      const tail = await this.logTail(from);
      throw new StartError(
        `PostgreSQL failed to start on port ${this.port} (pg_ctl exit ${r.code}): ${
          (r.stderr || r.stdout).trim()
        }\n--- server log tail (${this.logFile}) ---\n${tail}`,
        /could not bind|address already in use|could not create any TCP\/IP sockets/i.test(tail),
      );
    }
    this.#running = true;
  }

  /**
   * Stops the server and waits until it is gone. No-op when not running. Sends the postmaster the
   * signal `pg_ctl stop -m MODE` would (smart: SIGTERM, fast: SIGINT, immediate: SIGQUIT) and polls
   * every 5 ms for postmaster.pid to go (pg_ctl polls every 100 ms); falls back to `pg_ctl stop`.
   */
  async stop(mode: StopMode = "fast"): Promise<void> {
    if (!this.#running) return;
    const from = await this.#logSize();
    const pidFile = `${this.dataDir}/postmaster.pid`;
    let pid = 0;
    try {
      pid = Number((await Deno.readTextFile(pidFile)).split("\n")[0]);
    } catch { /* no pid file: pg_ctl decides below */ }
    let signalled = false;
    if (pid > 0) {
      try {
        Deno.kill(pid, STOP_SIGNALS[mode]);
        signalled = true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) { // stale pid file: the server is gone
          this.#running = false;
          return;
        }
      }
    }
    if (signalled) {
      const deadline = Date.now() + 60_000;
      while (await exists(pidFile)) {
        if (Date.now() > deadline) {
          throw new Error(`server did not stop (${mode}) within 60 s\n--- server log ---\n${await this.logTail(from)}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } else {
      const r = await run(this.bins.pg_ctl, ["stop", "-w", "-t", "60", "-m", mode, "-D", this.dataDir], {
        asPostgres: true,
      });
      if (r.code !== 0 && !/PID file .* does not exist|Is server running\?/i.test(r.stderr)) {
        throw new Error(
          `pg_ctl stop -m ${mode} failed: ${r.stderr.trim()}\n--- server log ---\n${await this.logTail(from)}`,
        );
      }
    }
    this.#running = false;
  }

  /** Stops (default `fast`) and starts the server again on the same port. */
  async restart(mode: StopMode = "fast"): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Immediate stop (`pg_ctl stop -m immediate`): no shutdown checkpoint, crash recovery at next start. */
  async kill(): Promise<void> {
    await this.stop("immediate");
  }

  /** Re-reads the configuration files (`pg_ctl reload`). */
  async reload(): Promise<void> {
    await runOk(this.bins.pg_ctl, ["reload", "-s", "-D", this.dataDir], { asPostgres: true });
  }

  /** Promotes a standby to primary (`pg_ctl promote -w`). */
  async promote(): Promise<void> {
    await runOk(this.bins.pg_ctl, ["promote", "-w", "-t", "30", "-D", this.dataDir], { asPostgres: true });
  }

  /**
   * Appends settings to postgresql.conf, replaces pg_hba.conf and/or writes data-dir files. Takes effect
   * at the next {@linkcode reload} or {@linkcode restart} (depending on the setting).
   */
  async configure(changes: Pick<ClusterOptions, "settings" | "hba" | "files">): Promise<void> {
    if (changes.settings && Object.keys(changes.settings).length) {
      await Deno.writeTextFile(`${this.dataDir}/postgresql.conf`, "\n" + confLines(changes.settings), {
        append: true,
      });
    }
    if (changes.hba) await writeServerFile(`${this.dataDir}/pg_hba.conf`, changes.hba.join("\n") + "\n");
    if (changes.files) await writeDataFiles(this.dataDir, changes.files);
  }

  /**
   * Runs SQL with `psql -X -A -t -v ON_ERROR_STOP=1 -c SQL` and returns its stdout without the final
   * newline(s). Connects to host 127.0.0.1, this port, user and database `postgres`, with the cluster's
   * password if set; `params` (libpq keywords) override those. Throws with psql's stderr on failure.
   *
   * The environment is clean: no PG* variables, HOME is the cluster dir (so no ~/.pgpass or ~/.postgresql).
   * @example `await pg.psql("select 1", { host: "localhost", sslmode: "verify-full", sslrootcert: certs.ca.certPath })`
   */
  async psql(sql: string, params: ConnParams = {}): Promise<string> {
    const conn: ConnParams = {
      host: HOST,
      port: this.port,
      user: "postgres",
      dbname: "postgres",
      connect_timeout: 10,
      password: this.password,
      ...params,
    };
    const conninfo = Object.entries(conn)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${conninfoValue(String(v))}`)
      .join(" ");
    const r = await run(this.bins.psql, ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql], {
      env: { HOME: this.rootDir },
    });
    if (r.code !== 0) throw new Error(`psql failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout.replace(/\n+$/, "");
  }

  /**
   * Makes a streaming standby of this (running) server: `pg_basebackup -R -X stream` into a new temp
   * directory, then starts it on its own free port. The primary needs `wal_level` replica or logical
   * (the default) and a trusting (or password) `replication` hba line for 127.0.0.1 (in the default lines).
   * The standby is independent: destroy it yourself.
   */
  async basebackupReplica(options: ReplicaOptions = {}): Promise<Cluster> {
    const root = await makeRoot("dewey-pg-replica-");
    const replica = new Cluster(this.bins, root, 0, this.password);
    liveClusters.add(replica);
    hookUnload();
    try {
      await runOk(this.bins.pg_basebackup, [
        "-h",
        HOST,
        "-p",
        String(this.port),
        "-U",
        "postgres",
        "-D",
        replica.dataDir,
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync",
      ], { asPostgres: true, env: this.password === undefined ? {} : { PGPASSWORD: this.password } });
      await replica.configure({ settings: options.settings, files: options.files });
      await startOnFreePort(replica);
      if (options.waitStreaming ?? true) {
        const deadline = Date.now() + 15_000;
        while ((await replica.psql("select status from pg_stat_wal_receiver")) !== "streaming") {
          if (Date.now() > deadline) throw new Error("standby not streaming after 15 s:\n" + (await replica.logTail()));
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      return replica;
    } catch (e) {
      await replica.destroy();
      throw e;
    }
  }

  /** Stops the server (immediate) and removes the temp directory. Safe to call more than once. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      try {
        await this.stop("immediate").catch(() => this.#killPostmaster());
        this.#running = false;
      } finally {
        liveClusters.delete(this);
        await Deno.remove(this.rootDir, { recursive: true }).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
      }
    })();
    return this.#destroyed;
  }

  async #killPostmaster(): Promise<void> {
    try {
      const pid = Number((await Deno.readTextFile(`${this.dataDir}/postmaster.pid`)).split("\n")[0]);
      if (pid > 0) Deno.kill(pid, "SIGKILL");
    } catch { /* not running */ }
  }

  /** @internal Synchronous best-effort destroy, for process exit. */
  destroySync(): void {
    try {
      if (this.#running) {
        const argv = ["stop", "-w", "-t", "30", "-m", "immediate", "-D", this.dataDir];
        const [program, args] = isRoot()
          ? [runuserPath ?? "runuser", ["-u", "postgres", "--", this.bins.pg_ctl, ...argv]]
          : [this.bins.pg_ctl, argv];
        new Deno.Command(program, { args, stdout: "null", stderr: "null", stdin: "null" }).outputSync();
      }
      Deno.removeSync(this.rootDir, { recursive: true });
    } catch { /* best effort */ }
    liveClusters.delete(this);
  }

  /** Same as {@linkcode destroy}; lets you write `await using pg = await startCluster()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

class StartError extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

/** Picks a free port and starts; retries with another port if someone grabbed it in between. */
async function startOnFreePort(c: Cluster): Promise<void> {
  for (let attempt = 1;; attempt++) {
    c[setPort](freePort());
    try {
      await c.start();
      return;
    } catch (e) {
      if (!(e instanceof StartError && e.portInUse) || attempt >= 5) throw e;
    }
  }
}

/**
 * Sets the superuser password in a copied template, in single-user mode (~50 ms), so that templates do
 * not depend on passwords. The password travels hex-encoded: no quoting issue, whatever it holds.
 */
async function setPassword(bins: PgBins, dataDir: string, password: string): Promise<void> {
  const hex = [...new TextEncoder().encode(password)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const sql = `DO $do$ BEGIN EXECUTE format('ALTER ROLE postgres PASSWORD %L', ` +
    `convert_from(decode('${hex}', 'hex'), 'UTF8')); END $do$\n`;
  const r = await run(bins.postgres, ["--single", "-D", dataDir, "-c", "log_min_messages=warning", "postgres"], {
    asPostgres: true,
    stdin: sql,
  });
  if (r.code !== 0 || /\b(ERROR|FATAL|PANIC):/.test(r.stdout + r.stderr)) {
    throw new Error(`setting the password in single-user mode failed: ${(r.stderr + r.stdout).trim()}`);
  }
}

async function copyTemplate(bins: PgBins, options: ClusterOptions, dataDir: string): Promise<void> {
  const initdbArgs = options.initdbArgs ?? [];
  for (let attempt = 1;; attempt++) {
    const tpl = await template(bins, initdbArgs);
    const r = await run("cp", ["-a", "--reflink=auto", tpl, dataDir]);
    if (r.code === 0) {
      if (options.password !== undefined) await setPassword(bins, dataDir, options.password);
      return;
    }
    // The cached template vanished (swept by another process, /dev/shm cleared): build it again.
    if (attempt >= 2 || (await exists(tpl))) throw new Error(`cp -a ${tpl} ${dataDir} failed: ${r.stderr.trim()}`);
    templates.clear();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Creates and starts a throwaway PostgreSQL cluster on 127.0.0.1 and a free port.
 * Dispose of it with `await using` or {@linkcode Cluster.destroy}.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const bins = await findPgBins();
  if (isRoot()) await pgUser();
  hookUnload();
  const root = await makeRoot("dewey-pg-");
  const cluster = new Cluster(bins, root, 0, options.password);
  liveClusters.add(cluster);
  try {
    if (options.template ?? Deno.env.get("DEWEY_PG_TEMPLATE") !== "off") {
      await copyTemplate(bins, options, cluster.dataDir);
    } else {
      await initdb(bins, cluster.dataDir, root, options.initdbArgs ?? [], options.password);
    }
    await cluster.configure({
      settings: { ...DEFAULT_SETTINGS, ...options.settings },
      hba: options.hba ?? [...DEFAULT_HBA],
      files: options.files,
    });
    await startOnFreePort(cluster);
    return cluster;
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
}
