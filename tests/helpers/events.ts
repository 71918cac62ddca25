/** Listening to every event of a connection in tests. */

import type { DatabaseEventName, Emitter } from "../../src/events.ts";

/** Every event a `DatabaseConnection` emits. */
export const EVENT_NAMES: readonly DatabaseEventName[] = [
  "connect",
  "disconnect",
  "checkout",
  "checkin",
  "validation-failed",
  "reconnecting",
  "reconnected",
  "pool-exhausted",
  "leak-suspected",
  "schema-version",
  "health-change",
  "failover",
];

/** Records every event `emitter` dispatches, in order, into the returned list. */
export function recordEvents(emitter: Emitter): { type: DatabaseEventName; detail: unknown }[] {
  const events: { type: DatabaseEventName; detail: unknown }[] = [];
  for (const type of EVENT_NAMES) emitter.on(type, (e) => events.push({ type, detail: e.detail }));
  return events;
}
