/**
 * Web Push for a user's devices that are not connected: their subscriptions, the chats the user
 * muted, and the pushes waiting to go, all in the user object's SQLite so that nothing is lost
 * when the object restarts. A message queues one push per subscribed device without a socket,
 * per chat: a burst replaces the waiting payload with its newest message, and a chat pushes a
 * device at most once per `MIN_INTERVAL_MS`. The object's alarm sends what is due; a push
 * service that is slow or down delays only its own pushes (timeouts, retries with backoff that
 * honour `Retry-After`, until the push's TTL ends).
 */
import { and, asc, eq, isNotNull, lte } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { type Message, READABLE_KINDS } from "../../protocol";
import { logEvent } from "../log-event";
import { mapLimit } from "../map-limit";
import { type Outcome, ok, refuse } from "../outcome";
import { fromBase64url, type VapidKey } from "../push/vapid";
import { type PushOutcome, type StoredSubscription, sendPush, topicOf } from "../push/web-push";
import * as schema from "./schema";

type Db = DrizzleSqliteDODatabase<typeof schema>;

/** A push waits this long for more messages of its chat before it goes. */
export const COLLAPSE_MS = 1_500;
/** A chat pushes one device at most this often. */
export const MIN_INTERVAL_MS = 5_000;
const SEND_CONCURRENCY = 16;
const PREVIEW_CHARS = 200;

export interface PushSettings {
  allowHttp: boolean;
  ttlSeconds: number;
  timeoutMs: number;
  maxDevices: number;
}

export interface PushesHost {
  readonly db: Db;
  /** Device ids with an open socket. */
  connectedDevices(): Set<string>;
  /** Has the object's alarm run at `time`, unless it is set to run sooner. */
  wakeAt(time: number): void;
  /** The server's VAPID key, or null when push is not configured. */
  vapidKey(): Promise<VapidKey | null>;
  /** Whether the user blocked `userId`: its messages push nothing. */
  blocked(userId: string): boolean;
}

/** The decrypted payload of a push (protocol v1.1). */
export interface PushPayload {
  chatId: string;
  seq: number;
  sender: string;
  kind: string;
  title?: string;
  body: string;
}

const s = schema.pushSubscriptions;
const p = schema.pushPending;

export class Pushes {
  /** The subscribed devices, read once: every delivery asks, and most users have none. */
  private devices: Set<string> | null = null;

  constructor(
    private readonly host: PushesHost,
    private readonly settings: PushSettings,
  ) {}

  /** Subscribes `deviceId` (replacing its subscription), after checking the endpoint and keys. */
  async subscribe(deviceId: string, sub: StoredSubscription, now = Date.now()): Promise<Outcome<null>> {
    const problem = this.endpointProblem(sub.endpoint) ?? (await keysProblem(sub));
    if (problem) return refuse("bad_request", problem);
    const db = this.host.db;
    const known = db.select({ deviceId: s.deviceId }).from(s).all();
    if (!known.some((r) => r.deviceId === deviceId) && known.length >= this.settings.maxDevices)
      return refuse("rate_limited", `at most ${this.settings.maxDevices} devices may be subscribed`);
    db.insert(s)
      .values({ deviceId, ...sub, createdAt: now })
      .onConflictDoUpdate({ target: s.deviceId, set: { ...sub, createdAt: now } })
      .run();
    this.subscribed().add(deviceId);
    return ok(null);
  }

  unsubscribe(deviceId: string): void {
    this.subscribed().delete(deviceId);
    this.host.db.delete(s).where(eq(s.deviceId, deviceId)).run();
    this.host.db.delete(p).where(eq(p.deviceId, deviceId)).run();
  }

  /** Whether any device of the user is subscribed. */
  any(): boolean {
    return this.subscribed().size > 0;
  }

  private subscribed(): Set<string> {
    this.devices ??= new Set(
      this.host.db
        .select({ deviceId: s.deviceId })
        .from(s)
        .all()
        .map((r) => r.deviceId),
    );
    return this.devices;
  }

  mute(chatId: string, until: number | null): void {
    this.host.db
      .insert(schema.mutes)
      .values({ chatId, until })
      .onConflictDoUpdate({ target: schema.mutes.chatId, set: { until } })
      .run();
    this.host.db.delete(p).where(eq(p.chatId, chatId)).run();
  }

  unmute(chatId: string): void {
    this.host.db.delete(schema.mutes).where(eq(schema.mutes.chatId, chatId)).run();
  }

  private muted(chatId: string, now: number): boolean {
    const row = this.host.db.select().from(schema.mutes).where(eq(schema.mutes.chatId, chatId)).get();
    return row !== undefined && (row.until === null || row.until > now);
  }

  /**
   * Messages of `chatId` reached this user: the newest that others sent people to read is queued
   * for each subscribed device without a socket, unless the chat is muted.
   */
  queue(
    userId: string,
    chat: { chatId: string; type: string; title: string | null },
    messages: readonly Message[],
  ): void {
    if (this.subscribed().size === 0) return;
    const newest = [...messages]
      .reverse()
      .find((m) => READABLE_KINDS.has(m.kind) && m.sender !== userId && !m.deleted && !this.host.blocked(m.sender));
    if (!newest) return;
    const connected = this.host.connectedDevices();
    const devices = [...this.subscribed()].filter((d) => !connected.has(d)).map((deviceId) => ({ deviceId }));
    if (devices.length === 0) return;
    const now = Date.now();
    if (this.muted(chat.chatId, now)) return;
    const payload = JSON.stringify(payloadOf(newest, chat.type === "group" ? chat.title : null));
    const expiresAt = now + this.settings.ttlSeconds * 1000;
    let soonest = Number.POSITIVE_INFINITY;
    for (const { deviceId } of devices) {
      const row = this.host.db
        .select()
        .from(p)
        .where(and(eq(p.deviceId, deviceId), eq(p.chatId, chat.chatId)))
        .get();
      // Waiting already: the newer message replaces its payload and keeps its time.
      const dueAt = row?.payload ? row.dueAt : Math.max(now + COLLAPSE_MS, (row?.lastSentAt ?? 0) + MIN_INTERVAL_MS);
      this.host.db
        .insert(p)
        .values({ deviceId, chatId: chat.chatId, payload, dueAt, expiresAt, attempts: 0 })
        .onConflictDoUpdate({ target: [p.deviceId, p.chatId], set: { payload, dueAt, expiresAt, attempts: 0 } })
        .run();
      soonest = Math.min(soonest, dueAt);
    }
    this.host.wakeAt(soonest);
  }

  /** Sends every push that is due (from the alarm); answers when the next one is due, if any. */
  async sendDue(now = Date.now()): Promise<number | null> {
    const db = this.host.db;
    db.delete(p)
      .where(and(isNotNull(p.payload), lte(p.expiresAt, now)))
      .run();
    const due = db
      .select()
      .from(p)
      .where(and(isNotNull(p.payload), lte(p.dueAt, now)))
      .all();
    if (due.length > 0) {
      const key = await this.host.vapidKey();
      if (!key) {
        logEvent("error", "config_error", {
          source: "UserObject",
          reason: "VAPID_PRIVATE_KEY is not set or not a P-256 key; pushes are dropped",
        });
        db.delete(p).where(isNotNull(p.payload)).run();
      } else {
        await this.sendAll(due, key, now);
      }
    }
    return this.nextDue();
  }

  private async sendAll(due: (typeof p.$inferSelect)[], key: VapidKey, now: number): Promise<void> {
    const db = this.host.db;
    const subs = new Map(
      db
        .select()
        .from(s)
        .all()
        .map((r) => [r.deviceId, r]),
    );
    const connected = this.host.connectedDevices();
    const outcomes: { row: (typeof due)[number]; outcome: PushOutcome }[] = [];
    await mapLimit(due, SEND_CONCURRENCY, async (row) => {
      const sub = subs.get(row.deviceId);
      // Connected meanwhile: the device has the message over its socket.
      if (!sub || connected.has(row.deviceId)) {
        outcomes.push({ row, outcome: { kind: "sent" } });
        return;
      }
      const outcome = await sendSigned(sub, row.payload as string, key, {
        ttlSeconds: Math.max(1, Math.round((row.expiresAt - now) / 1000)),
        topic: await topicOf(row.chatId),
        timeoutMs: this.settings.timeoutMs,
      });
      outcomes.push({ row, outcome });
    });
    const sentAt = Date.now();
    const pushFields = (row: (typeof due)[number]) => ({
      source: "UserObject" as const,
      deviceId: row.deviceId,
      chatId: row.chatId,
      pushOrigin: originOf(subs.get(row.deviceId)?.endpoint),
    });
    for (const { row, outcome } of outcomes) {
      const where = and(eq(p.deviceId, row.deviceId), eq(p.chatId, row.chatId));
      // A newer message queued while this one was on its way: it goes next, after the interval.
      const current = db.select({ payload: p.payload }).from(p).where(where).get();
      const replaced = current?.payload !== row.payload;
      switch (outcome.kind) {
        case "sent":
        case "refused":
          if (outcome.kind === "refused") logEvent("warn", "push_refused", { ...pushFields(row), reason: outcome.why });
          db.update(p)
            .set(
              replaced
                ? { lastSentAt: sentAt, dueAt: sentAt + MIN_INTERVAL_MS, attempts: 0 }
                : { payload: null, lastSentAt: sentAt, attempts: 0 },
            )
            .where(where)
            .run();
          break;
        case "gone":
          logEvent("info", "push_gone", { ...pushFields(row), reason: outcome.why });
          this.unsubscribe(row.deviceId);
          break;
        case "retry": {
          const backoff = Math.min(2 ** row.attempts * 2_000, 10 * 60_000);
          const dueAt = sentAt + Math.max(backoff, outcome.afterMs ?? 0);
          const retryInMs = dueAt < row.expiresAt ? dueAt - sentAt : undefined;
          logEvent("warn", "push_failed", { ...pushFields(row), reason: outcome.why, retryInMs });
          if (dueAt >= row.expiresAt) db.update(p).set({ payload: null }).where(where).run();
          else
            db.update(p)
              .set({ dueAt, attempts: row.attempts + 1 })
              .where(where)
              .run();
          break;
        }
      }
    }
  }

  /** When the next waiting push is due; null when none waits. */
  nextDue(): number | null {
    const row = this.host.db
      .select({ dueAt: p.dueAt })
      .from(p)
      .where(isNotNull(p.payload))
      .orderBy(asc(p.dueAt))
      .limit(1)
      .get();
    return row?.dueAt ?? null;
  }

  private endpointProblem(endpoint: string): string | null {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return "endpoint: not a URL";
    }
    if (endpoint.length > 2_048) return "endpoint: over 2,048 characters";
    if (url.protocol === "https:") return null;
    const local = url.hostname === "127.0.0.1" || url.hostname === "localhost";
    if (url.protocol === "http:" && local && this.settings.allowHttp) return null;
    return "endpoint: must be https";
  }
}

/** Endpoints whose push service took a push only when signed with the previous VAPID key (per isolate). */
const previousKeyEndpoints = new Set<string>();
const MAX_REMEMBERED_ENDPOINTS = 10_000;

/**
 * A push signed with the key its subscription was made with, during a VAPID rotation too: a
 * push service refuses (401, 403) a push signed with another key than the subscription's, so
 * then it goes again with the other one, which is remembered for the endpoint. Nothing is
 * stored: a subscription made before the rotation keeps working until its browser subscribes
 * again with the key now served.
 */
async function sendSigned(
  sub: StoredSubscription,
  payload: string,
  key: VapidKey,
  options: { ttlSeconds: number; topic: string; timeoutMs: number },
): Promise<PushOutcome> {
  const previous = key.previous;
  const first = previous && previousKeyEndpoints.has(sub.endpoint) ? previous : key;
  const outcome = await sendPush(sub, payload, { ...options, key: first });
  if (!previous || outcome.kind !== "refused" || (outcome.status !== 401 && outcome.status !== 403)) return outcome;
  const other = first === key ? previous : key;
  const again = await sendPush(sub, payload, { ...options, key: other });
  if (again.kind === "sent") {
    if (other === previous && previousKeyEndpoints.size < MAX_REMEMBERED_ENDPOINTS)
      previousKeyEndpoints.add(sub.endpoint);
    else previousKeyEndpoints.delete(sub.endpoint);
  }
  return again;
}

/** Why a subscription's keys are not usable: p256dh must be a P-256 point, auth 16 bytes. */
async function keysProblem(sub: StoredSubscription): Promise<string | null> {
  const auth = fromBase64url(sub.auth);
  if (auth?.byteLength !== 16) return "keys.auth: must be 16 bytes, base64url";
  const point = fromBase64url(sub.p256dh);
  if (point?.byteLength !== 65 || point[0] !== 4) return "keys.p256dh: must be an uncompressed P-256 point, base64url";
  try {
    await crypto.subtle.importKey("raw", point, { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch {
    return "keys.p256dh: not a point on P-256";
  }
  return null;
}

/** The payload of a push for `m`: a preview of at most 200 characters (code points). */
export function payloadOf(m: Message, groupTitle: string | null): PushPayload {
  const text = m.kind === "attachment" ? m.body || m.attachment?.name || "" : m.body;
  const body = [...text].slice(0, PREVIEW_CHARS).join("");
  const payload: PushPayload = { chatId: m.chatId, seq: m.seq, sender: m.sender, kind: m.kind, body };
  if (groupTitle !== null) payload.title = groupTitle;
  return payload;
}

/** The origin of a push endpoint; its path is the subscription's capability and is not logged. */
function originOf(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  try {
    return new URL(endpoint).origin;
  } catch {
    return undefined;
  }
}
