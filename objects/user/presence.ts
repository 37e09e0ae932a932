/**
 * Presence of one user, kept by its user object: online while some device is connected and
 * was heard from (any frame, or a ping answered by auto-response) within 60 s. `lastSeen` is
 * stored so it survives restarts. Watchers are told of every change.
 */
import { eq } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { PRESENCE_TIMEOUT_MS, type ServerFrame } from "../../protocol";
import * as schema from "./schema";
import { type SocketState, stateOf } from "./sockets";

export type PresenceFrame = Extract<ServerFrame, { type: "presence" }>;

const LAST_SEEN = "last_seen";

/** When the socket was last heard from: its last frame, or its last auto-answered ping. */
export function lastHeard(ctx: DurableObjectState, ws: WebSocket, state: SocketState | null = stateOf(ws)): number {
  const ping = ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
  return Math.max(state?.lastHeard ?? 0, ping);
}

export class Presence {
  private storedLastSeen: number | null;
  /** The latest moment the user was heard from outside the live sockets (e.g. a closing one). */
  private heardElsewhere = 0;
  /** What watchers were last told, so that only changes are sent. */
  private lastOnline: boolean | null = null;
  private readonly watching: Set<string>;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly db: DrizzleSqliteDODatabase<typeof schema>,
  ) {
    const row = db.select().from(schema.userMeta).where(eq(schema.userMeta.key, LAST_SEEN)).get();
    this.storedLastSeen = row?.value ?? null;
    this.watching = new Set(
      db
        .select()
        .from(schema.watchers)
        .all()
        .map((w) => w.userId),
    );
  }

  /** Notes that the user was heard from at `t` (a closing socket no longer counts as live). */
  seen(t: number): void {
    this.heardElsewhere = Math.max(this.heardElsewhere, t);
  }

  /** The user's presence now, leaving out sockets that are closing; `userId` names it in the frame. */
  current(userId: string, now = Date.now(), closing: readonly WebSocket[] = []): PresenceFrame {
    let online = false;
    let heard = Math.max(this.storedLastSeen ?? 0, this.heardElsewhere);
    for (const ws of this.ctx.getWebSockets()) {
      const t = lastHeard(this.ctx, ws);
      if (closing.includes(ws)) {
        heard = Math.max(heard, t);
        continue;
      }
      heard = Math.max(heard, t);
      if (now - t < PRESENCE_TIMEOUT_MS) online = true;
    }
    return { type: "presence", userId, online, lastSeen: heard > 0 ? heard : null };
  }

  /** Stores lastSeen if it moved; answers the presence frame when online/offline changed. */
  settle(userId: string, now = Date.now(), closing: readonly WebSocket[] = []): PresenceFrame | null {
    const p = this.current(userId, now, closing);
    if (p.lastSeen !== null && p.lastSeen !== this.storedLastSeen) {
      this.storedLastSeen = p.lastSeen;
      this.db
        .insert(schema.userMeta)
        .values({ key: LAST_SEEN, value: p.lastSeen })
        .onConflictDoUpdate({ target: schema.userMeta.key, set: { value: p.lastSeen } })
        .run();
    }
    if (p.online === this.lastOnline) return null;
    this.lastOnline = p.online;
    return p;
  }

  /** Sockets silent for 60 s, which count as gone, and when the next one could fall silent. */
  silent(now = Date.now(), closing: readonly WebSocket[] = []): { gone: WebSocket[]; nextCheck: number | null } {
    const gone: WebSocket[] = [];
    let nextCheck: number | null = null;
    for (const ws of this.ctx.getWebSockets()) {
      if (closing.includes(ws)) continue;
      const due = lastHeard(this.ctx, ws) + PRESENCE_TIMEOUT_MS;
      if (due <= now) gone.push(ws);
      else nextCheck = Math.min(nextCheck ?? due, due);
    }
    return { gone, nextCheck };
  }

  watchers(): string[] {
    return [...this.watching];
  }

  /** Answers whether `userId` is a new watcher. */
  addWatcher(userId: string): boolean {
    if (this.watching.has(userId)) return false;
    this.watching.add(userId);
    this.db.insert(schema.watchers).values({ userId }).onConflictDoNothing().run();
    return true;
  }

  removeWatcher(userId: string): void {
    if (!this.watching.delete(userId)) return;
    this.db.delete(schema.watchers).where(eq(schema.watchers.userId, userId)).run();
  }
}
