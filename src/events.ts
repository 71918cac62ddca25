/**
 * Typed events. A `DatabaseConnection` is an `EventTarget`; each event is a
 * `CustomEvent` whose `detail` has the shape listed in {@linkcode DatabaseEventMap}.
 * Details never carry a secret.
 *
 * @module
 */

/**
 * Event names and their `detail` payloads.
 *
 * @example Listen to outages
 * ```ts ignore
 * db.on("reconnecting", (e) => console.warn(`down since ${e.detail.downSince}, retry in ${e.detail.delayMs} ms`));
 * db.on("reconnected", (e) => console.info(`back after ${e.detail.downtimeMs} ms`));
 * db.addEventListener("schema-version", (e) => reloadCaches(), { once: true });
 * ```
 */
export interface DatabaseEventMap {
  /** A connection opened. */
  "connect": { id: number; host?: string; port?: number; durationMs: number; tls: boolean | undefined };
  /**
   * A connection closed: `reason` is `idle` (pool_idle_timeout, or retired ahead of the server's
   * idle_session_timeout), `lifetime`, `error` (it died; `error` says how when known), `closed`, `validation`.
   */
  "disconnect": { id: number; reason: string; error?: string };
  /** A connection was checked out for exclusive use (a session or `engine.connect()`). */
  "checkout": { id: number; waitMs: number };
  /** A checked-out connection came back. */
  "checkin": { id: number; holdMs: number };
  /** A connection failed a pre-ping or a periodic health check and was replaced. */
  "validation-failed": { id?: number; error: string };
  /** Opening a connection failed; the pool will try again after `delayMs`. */
  "reconnecting": { attempt: number; delayMs: number; downSince: string; error: string };
  /** A connection opened after failures; `downtimeMs` since the first failure. */
  "reconnected": { downtimeMs: number; attempts: number };
  /** A caller had to wait: every connection up to `pool_max` is in use. */
  "pool-exhausted": { inUse: number; waiting: number; max: number };
  /** A connection has been checked out longer than `leak_detection_threshold`. */
  "leak-suspected": { id: number; heldMs: number; stack?: string };
  /** `schema_version_query` returned a different value. */
  "schema-version": { previous: unknown; current: unknown };
  /** The health status changed. */
  "health-change": { previous: string; status: string; error?: string };
  /** A read-only target moved: failover found a new primary, or a replica was skipped. */
  "failover": { from?: string; to?: string; reason: string };
  /**
   * The LISTEN connection was lost and is back, every channel LISTENed again: notifications sent between `since`
   * and now (`downtimeMs`) may have been missed.
   */
  "listen-gap": { channels: string[]; since: string; downtimeMs: number };
  /** A notification handler threw (or rejected), or restoring the LISTENs failed for another reason than the link. */
  "listen-error": { channel: string; error: string };
}

/** Any event name. */
export type DatabaseEventName = keyof DatabaseEventMap;

/** A typed `CustomEvent` for event `K`. */
export type DatabaseEvent<K extends DatabaseEventName> = CustomEvent<DatabaseEventMap[K]>;

/**
 * An `EventTarget` that counts its listeners, so emitting an event nobody
 * listens to costs one lookup and builds nothing (checkout/checkin happen on
 * the hot path).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Emitter } from "./events.ts";
 * const e = new Emitter();
 * let seen = 0;
 * e.on("checkin", (ev) => seen += ev.detail.holdMs);
 * e.emit("checkin", { id: 1, holdMs: 5 });
 * assert(seen === 5 && e.wants("checkin") && !e.wants("checkout"));
 * ```
 */
export class Emitter extends EventTarget {
  // Listener sets, not counts: removing a listener that was never added must not hide a real one.
  // A `once` listener stays in its set after it fired, which only costs an unneeded dispatch.
  #listeners: Record<string, Set<EventListenerOrEventListenerObject>> = {};

  /** Whether anyone listens to `type`. */
  wants(type: DatabaseEventName): boolean {
    return (this.#listeners[type]?.size ?? 0) > 0;
  }

  /** Dispatches `type` with `detail` if anyone listens. */
  emit<K extends DatabaseEventName>(type: K, detail: DatabaseEventMap[K]): void {
    if ((this.#listeners[type]?.size ?? 0) > 0) this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Adds a typed listener; returns a function that removes it.
   *
   * @example
   * ```ts
   * import { Emitter } from "./events.ts";
   * const off = new Emitter().on("reconnected", (e) => console.log(e.detail.downtimeMs));
   * off();
   * ```
   */
  on<K extends DatabaseEventName>(type: K, listener: (event: DatabaseEvent<K>) => void): () => void {
    const fn = listener as EventListener;
    this.addEventListener(type, fn);
    return () => this.removeEventListener(type, fn);
  }

  /** Like `EventTarget.addEventListener`, remembering the listener. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (!listener) return;
    (this.#listeners[type] ??= new Set()).add(listener);
    const signal = typeof options === "object" ? options.signal : undefined;
    signal?.addEventListener("abort", () => this.#listeners[type]?.delete(listener), { once: true });
    super.addEventListener(type, listener, options);
  }

  /** Like `EventTarget.removeEventListener`, forgetting the listener. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    if (!listener) return;
    this.#listeners[type]?.delete(listener);
    super.removeEventListener(type, listener, options);
  }
}
