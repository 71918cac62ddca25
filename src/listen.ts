/**
 * LISTEN/NOTIFY: one dedicated connection per `DatabaseConnection`, opened
 * with the pool's connector but outside the pool (it never counts against
 * `pool_max`), LISTENing on every channel someone subscribed to, and
 * re-LISTENing them all after it was lost (a `listen-gap` event then says
 * notifications may have been missed meanwhile).
 *
 * @module
 */

import { backoffDelay } from "./backoff.ts";
import { isConnectionFailure } from "./classify.ts";
import type { Connector, DriverConnection, ServerNotification } from "./contracts.ts";
import { DatabaseConnectionError } from "./errors.ts";
import type { Emitter } from "./events.ts";
import { describeError } from "./redact.ts";

/** Called with each notification on a channel; a throw or rejection is reported as a `listen-error` event. */
export type NotificationHandler = (payload: string, info: NotificationInfo) => void | Promise<void>;

/** Where a notification came from. */
export interface NotificationInfo {
  /** The channel. */
  channel: string;
  /** The notifying backend's process id (undefined where the driver does not report it: postgres.js on Workers). */
  pid: number | undefined;
}

/**
 * A handler subscribed to a channel, from `db.listen()`. `await using` it, or
 * call {@linkcode Subscription.unlisten}.
 */
export interface Subscription extends AsyncDisposable {
  /** The channel. */
  readonly channel: string;
  /** Stops this handler; the channel is UNLISTENed once no handler is left, the connection closed with the last. */
  unlisten(): Promise<void>;
}

/** What a listener needs from its database. */
export interface ListenerOptions {
  /** Opens the dedicated connection (the primary pool's connector: host lists and server roles apply). */
  connect: Connector;
  /** Where `listen-gap` and `listen-error` go. */
  events: Emitter;
  /** Reconnect backoff: first step and largest step, ms. */
  backoffBase: number;
  /** Largest backoff step, ms. */
  backoffMax: number;
}

interface Channel {
  readonly handlers: Set<{ handler: NotificationHandler }>;
  /** Settles once the channel is LISTENed (or failed to be). */
  ready: Promise<void>;
}

/** Longest channel name: the server's identifier limit (NAMEDATALEN - 1 bytes). */
const MAX_CHANNEL_BYTES = 63;

/**
 * A channel name quoted as an identifier, so mixed case, spaces and quotes
 * reach the server as written (`pg_notify` and the notifications use it
 * unquoted). Throws a `TypeError` for an empty or too long name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteChannel } from "./listen.ts";
 * assert(quoteChannel('Order "events"') === '"Order ""events"""');
 * assert.throws(() => quoteChannel(""), TypeError);
 * ```
 */
export function quoteChannel(channel: string): string {
  if (typeof channel !== "string" || channel.length === 0 || channel.includes("\0")) {
    throw new TypeError(`a channel name is a non-empty string without NUL characters, got ${JSON.stringify(channel)}`);
  }
  if (new TextEncoder().encode(channel).length > MAX_CHANNEL_BYTES) {
    throw new TypeError(`channel name too long (the server allows ${MAX_CHANNEL_BYTES} bytes): ${channel}`);
  }
  return `"${channel.replaceAll('"', '""')}"`;
}

/** The LISTEN side of one `DatabaseConnection`. */
export class Listener {
  #options: ListenerOptions;
  #channels = new Map<string, Channel>();
  #conn: DriverConnection | undefined;
  #opening: Promise<DriverConnection> | undefined;
  #attempt: AbortController | undefined;
  /** Statements on the dedicated connection, one after another, in call order. */
  #tail: Promise<unknown> = Promise.resolve();
  /** `Date.now()` when the connection was lost, while it is being restored. */
  #downSince: number | undefined;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  /** `listen()` calls waiting for the restore to LISTEN on their channel too. */
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #closed = false;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Channels with at least one handler. */
  get channels(): string[] {
    return [...this.#channels.keys()];
  }

  /** Subscribes `handler` to `channel`; resolves once the server LISTENs on it. */
  async listen(channel: string, handler: NotificationHandler): Promise<Subscription> {
    const quoted = quoteChannel(channel);
    if (typeof handler !== "function") throw new TypeError("listen(channel, handler) needs a handler function");
    this.#assertOpen();
    const entry = { handler };
    let state = this.#channels.get(channel);
    if (state === undefined) {
      const created: Channel = { handlers: new Set([entry]), ready: Promise.resolve() };
      this.#channels.set(channel, created);
      // While the link is being restored, the restore LISTENs on every channel, this one included: wait for it.
      created.ready = this.#serial(() => this.#listenNow(quoted))
        .then((restoring) => restoring ? this.#restored() : undefined)
        .catch((error) => {
          if (this.#channels.get(channel) === created) this.#channels.delete(channel);
          throw error;
        });
      state = created;
    } else state.handlers.add(entry);
    try {
      await state.ready;
    } catch (error) {
      state.handlers.delete(entry);
      await this.#closeIfIdle();
      throw error;
    }
    const subscription: Subscription = {
      channel,
      unlisten: () => this.#unlisten(channel, state!, entry),
      [Symbol.asyncDispose]: () => subscription.unlisten(),
    };
    return subscription;
  }

  /** Closes the dedicated connection and forgets every channel. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    this.#attempt?.abort(closedError());
    const conn = this.#conn ?? await this.#opening?.catch(() => undefined);
    this.#conn = undefined;
    await conn?.close();
  }

  async #unlisten(channel: string, state: Channel, entry: { handler: NotificationHandler }): Promise<void> {
    if (!state.handlers.delete(entry) || state.handlers.size > 0) return;
    if (this.#channels.get(channel) === state) this.#channels.delete(channel);
    await this.#serial(async () => {
      // A new subscription may have taken the channel meanwhile; while the link is down there is nothing to undo.
      if (this.#channels.has(channel) || this.#conn === undefined || this.#conn.closed) return;
      await this.#conn.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => {});
    });
    await this.#closeIfIdle();
  }

  /** With no channel left, the connection goes, and a reconnect in progress stops. */
  async #closeIfIdle(): Promise<void> {
    await this.#serial(async () => {
      if (this.#channels.size > 0) return;
      clearTimeout(this.#retryTimer);
      clearInterval(this.#pingTimer);
      this.#retryTimer = undefined;
      this.#downSince = undefined;
      const conn = this.#conn;
      this.#conn = undefined;
      await conn?.close();
    });
  }

  /** Runs `fn` after every statement queued before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  /**
   * LISTENs on one channel, opening the connection if needed. True when the link is down and being restored (the
   * restore LISTENs on every channel), including when it failed under this statement.
   */
  async #listenNow(quoted: string): Promise<boolean> {
    this.#assertOpen();
    if (this.#downSince !== undefined) return true;
    const conn = await this.#connection();
    try {
      await conn.query(`LISTEN ${quoted}`);
      return false;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      this.#lost(conn);
      return true;
    }
  }

  /** Resolves when the connection is back and every channel LISTENed again. */
  #restored(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #connection(): Promise<DriverConnection> {
    const conn = this.#conn;
    if (conn !== undefined && !conn.closed) return Promise.resolve(conn);
    return this.#opening ??= this.#open().finally(() => this.#opening = undefined);
  }

  async #open(): Promise<DriverConnection> {
    const attempt = this.#attempt = new AbortController();
    const opened: { conn?: DriverConnection } = {};
    const conn = await this.#options.connect(
      attempt.signal,
      () => opened.conn !== undefined && this.#lost(opened.conn),
      (notification) => this.#deliver(notification),
    );
    opened.conn = conn;
    if (this.#closed) {
      await conn.close();
      throw closedError();
    }
    this.#conn = conn;
    this.#keepAlive(conn);
    return conn;
  }

  /**
   * A LISTEN connection only waits, and a server with `idle_session_timeout` would close it (each time a gap): it
   * runs `SELECT 1` at half that period, as the pool retires its own idle connections before the server does.
   */
  #keepAlive(conn: DriverConnection): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    const limit = conn.info.idleSessionTimeout;
    if (!limit) return;
    this.#pingTimer = setInterval(() => {
      if (this.#conn !== conn || conn.closed) return clearInterval(this.#pingTimer);
      void this.#serial(() => conn.query("SELECT 1")).catch(() => {}); // a dead link reports itself through onClose
    }, limit / 2);
  }

  #lost(conn: DriverConnection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    void conn.close();
    if (this.#closed || this.#channels.size === 0) return;
    this.#downSince ??= Date.now();
    this.#retries = 0;
    this.#scheduleRestore();
  }

  #scheduleRestore(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const { backoffBase, backoffMax } = this.#options;
    // Not unref'd: a process listening for notifications keeps waiting for its database to come back.
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#serial(() => this.#restore());
    }, Math.max(backoffBase, backoffDelay(this.#retries++, backoffBase, backoffMax)));
  }

  /** Opens a new connection and LISTENs on every channel; on success reports the gap. */
  async #restore(): Promise<void> {
    if (this.#closed || this.#downSince === undefined) return;
    const channels = this.channels;
    if (channels.length === 0) return;
    try {
      const conn = await this.#connection();
      await conn.query(channels.map((c) => `LISTEN ${quoteChannel(c)}`).join("; "));
    } catch (error) {
      if (this.#closed) return;
      if (!isConnectionFailure(error) && !(error instanceof DatabaseConnectionError)) {
        this.#report(channels.join(","), error);
      }
      const conn = this.#conn;
      this.#conn = undefined;
      await conn?.close();
      this.#scheduleRestore();
      return;
    }
    const since = this.#downSince;
    this.#downSince = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve();
    this.#options.events.emit("listen-gap", {
      channels,
      since: new Date(since).toISOString(),
      downtimeMs: Date.now() - since,
    });
  }

  #deliver(notification: ServerNotification): void {
    const state = this.#channels.get(notification.channel);
    if (state === undefined) return;
    const info: NotificationInfo = { channel: notification.channel, pid: notification.pid };
    for (const { handler } of [...state.handlers]) {
      try {
        const result = handler(notification.payload, info);
        if (result instanceof Promise) result.catch((error) => this.#report(notification.channel, error));
      } catch (error) {
        this.#report(notification.channel, error);
      }
    }
  }

  #report(channel: string, error: unknown): void {
    this.#options.events.emit("listen-error", { channel, error: describeError(error) });
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

function closedError(): DatabaseConnectionError {
  return new DatabaseConnectionError("the database connection is closed", {
    code: "POOL_CLOSED",
    reachedServer: false,
  });
}
