/**
 * The Trackers tab's memory of the cluster (pure): instances that leave the live list are kept, marked down
 * since the moment they were missed, with the role and epoch they last had, until they are heard again.
 */
import type { Role } from '../bus/messages.js';

/** What the keepalives tell about one other instance (a subset of the Heartbeat's live entry). */
export type Heard = { readonly id: number; readonly role: Role; readonly epoch: number; readonly lastSeen: number };

/** One instance as the Trackers tab shows it: `down` is when it went missing, null while it is live. */
export type Member = Heard & { readonly down: number | null };

/** The new list after the live list `live` arrived at `now`: live ones as heard, missing ones kept as down. */
export function trackMembers(prev: readonly Member[], live: readonly Heard[], now: number): Member[] {
  const heard = new Map(live.map((e) => [e.id, e]));
  const out: Member[] = live.map(({ id, role, epoch, lastSeen }) => ({ id, role, epoch, lastSeen, down: null }));
  for (const m of prev) if (!heard.has(m.id)) out.push(m.down === null ? { ...m, down: now } : m);
  return out.sort((a, b) => a.id - b.id);
}
