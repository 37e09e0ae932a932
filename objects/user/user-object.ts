/**
 * One Durable Object per user (`idFromName(userId)`): it holds the user's device sockets with
 * the hibernation API, keeps the inbox, and pushes what the chat objects deliver to every
 * connected device. Frames are handled in `frames.ts`. Its public methods are its RPC API
 * (argument and answer types in `../contracts`); the frame handlers reach it through `FrameContext`.
 */
import { DurableObject } from "cloudflare:workers";
import { type DrizzleSqliteDODatabase, drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import migrations from "../../migrations/user/migrations";
import {
  directChatId,
  MAX_FRAME_BYTES,
  PING,
  PONG,
  type PrivacySettings,
  parseClientFrame,
  type ServerFrame,
} from "../../protocol";
import type { ChatSummary, Delivery, DeliveryAnswer, PresenceFrame } from "../contracts";
import { errorFields, logEvent } from "../log-event";
import { type Outcome, ok, refuse } from "../outcome";
import { OwnCopies } from "../own-copies";
import { loadVapidKey, type VapidKey } from "../push/vapid";
import type { StoredSubscription } from "../push/web-push";
import { settingsOf } from "../settings";
import { chatStub, upgradeIdentity, upgradeRequestId } from "../stubs";
import { ChatRefresh } from "./chat-refresh";
import { anySocketUser, framesToDevices, receiptsToDevices } from "./device-fanout";
import { eraseUser } from "./erase";
import { type ExportHead, exportHead } from "./export";
import { frameTooLarge, heard } from "./frame-intake";
import { type FrameContext, handleFrame, sendError } from "./frames";
import { Inbound } from "./inbound";
import { PresenceService } from "./presence-service";
import { FloodMeter, sendLimiter, type TokenBucket } from "./rate-limit";
import { ReceiptQueue } from "./receipt-queue";
import * as schema from "./schema";
import { SendQueue } from "./send-queue";
import { socketLimitMessage, socketLimitReached } from "./socket-limit";
import { type SocketState, sendFrame, stateOf } from "./sockets";
import { UserStores } from "./stores";

export class UserObject extends DurableObject<Env> {
  /** The deep health check's round trip (worker/health.ts): answers without touching state. */
  ping(): string {
    return "pong";
  }

  private readonly db: DrizzleSqliteDODatabase<typeof schema>;
  /** The stores in SQLite, made on first use. */
  private readonly stores: UserStores;
  /** Presence and privacy: the RPC methods on them delegate here. */
  private readonly presenceService: PresenceService;
  private readonly sends: SendQueue;
  private readonly sendLimit: TokenBucket;
  /** Takes a send from the bucket, which is then written within a second. */
  private readonly sendGate = {
    take: (): boolean => {
      // Restores the stored bucket before its first take.
      const store = this.stores.bucketStore;
      const allowed = this.sendLimit.take();
      store.changed();
      return allowed;
    },
  };
  private readonly settings = settingsOf(this.env);
  /** `received` and `read` on their way to the chat objects, merged while a call is in flight. */
  private readonly receipts = new ReceiptQueue(
    (chatId, userId, marks) => chatStub(this.env, chatId).markReceipts(chatId, userId, marks),
    // The chat's answer to merged receipts: errors to the frames it refused, `read` to the other devices.
    (chatId, result, waiters) => receiptsToDevices(this.ctx, this.stores.inbox, chatId, result, waiters),
  );
  /** Sends refused by the rate limit, per socket, over the last window (memory only). */
  private readonly floods = new FloodMeter();
  private readonly ownCopies = new OwnCopies();
  private readonly frames: FrameContext;
  private readonly inbound: Inbound;
  private readonly refresh: ChatRefresh;
  /** Upgrades waiting for their chats to resume: the user counts as online meanwhile. */
  private connecting = 0;
  private vapid: Promise<VapidKey | null> | null = null;
  /** When the alarm is set for (null: not set, as far as this instance knows). */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = drizzle(ctx.storage, { schema });
    this.sendLimit = sendLimiter(this.settings);
    this.stores = new UserStores({
      ctx,
      env,
      db: this.db,
      settings: this.settings,
      sendLimit: this.sendLimit,
      connecting: () => this.connecting,
      wakeAt: (time) => this.wakeAt(time),
      vapidKey: () => {
        this.vapid ??= loadVapidKey(env.VAPID_PRIVATE_KEY, env.VAPID_SUBJECT, env.VAPID_PRIVATE_KEY_PREVIOUS);
        return this.vapid;
      },
    });
    this.sends = new SendQueue(
      (chatId, userId, items) => chatStub(this.env, chatId).send(chatId, userId, items),
      (chatId, userId, sent) => this.inbound.own(chatId, userId, sent),
    );
    this.frames = this.frameContext();
    this.inbound = this.inboundHost();
    this.refresh = new ChatRefresh(this.stores, this.inbound);
    this.presenceService = new PresenceService(this.stores);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      await migrate(this.db, migrations);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Accepts a device's WebSocket; the Worker has authenticated it and names user and device. */
  override async fetch(request: Request): Promise<Response> {
    const identity = upgradeIdentity(request);
    if (!identity) {
      return Response.json(
        { error: { code: "bad_request", message: "expected a WebSocket upgrade" } },
        { status: 400 },
      );
    }
    const { userId, deviceId } = identity;
    const requestId = upgradeRequestId(request);
    const maxSockets = this.settings.maxSocketsPerUser;
    if (socketLimitReached(this.ctx, deviceId, maxSockets)) {
      logEvent("warn", "socket_limit", { source: "UserObject", requestId, userId, deviceId, count: maxSockets });
      return Response.json(
        { error: { code: "rate_limited", message: socketLimitMessage(maxSockets) } },
        { status: 429 },
      );
    }
    // Chats that parked this user deliver again, and the inbox learns where they stand, before `ready`.
    this.connecting += 1;
    try {
      this.stores.inbox.setLive(true);
      await this.refresh.resumeChats(userId);
      // `ready` gives each chat's unread count: those that went stale are counted by their chats.
      const listed = this.stores.inbox.unheldBy(deviceId).map((c) => c.chatId);
      await this.inbound.refresh(userId, this.stores.inbox.unreadStale(listed));
    } finally {
      this.connecting -= 1;
    }
    for (const old of this.ctx.getWebSockets(deviceId)) {
      old.close(4000, "replaced by a newer connection of this device");
    }
    this.presenceService.closeSilent();
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const now = Date.now();
    const state: SocketState = {
      userId,
      deviceId: deviceId,
      connectedAt: now,
      lastHeard: now,
      watching: [],
      requestId,
    };
    this.ctx.acceptWebSocket(server, [deviceId]);
    server.serializeAttachment(state);
    logEvent("info", "socket_open", { source: "UserObject", requestId, userId, deviceId });
    sendFrame(server, { type: "ready", userId, deviceId: deviceId, chats: this.stores.inbox.unheldBy(deviceId) });
    this.presenceService.mayHaveChanged(userId);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const socket = stateOf(ws);
    if (!socket) return ws.close(1011, "socket state lost");
    if (frameTooLarge(raw)) return ws.close(1009, `frame over ${MAX_FRAME_BYTES} bytes`);
    heard(ws, socket);
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) return sendError(ws, parsed, parsed.id);
    try {
      await handleFrame(this.frames, ws, socket, parsed.frame);
    } catch (err) {
      logEvent("error", "unexpected_error", {
        source: "UserObject",
        requestId: socket.requestId,
        userId: socket.userId,
        deviceId: socket.deviceId,
        frame: parsed.frame.type,
        ...errorFields(err),
      });
      sendError(ws, { code: "internal", message: "the frame could not be handled; try again" }, parsed.frame.id);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005/1006 are reserved and may not be sent back.
    const reply = code === 1005 || code === 1006 ? 1000 : code;
    try {
      ws.close(reply, reason);
    } catch {
      // Already closed.
    }
    if (!this.presenceService.online([ws])) this.stores.inbox.setLive(false);
    this.stores.inbox.flush();
    const state = stateOf(ws);
    if (!state) return;
    const { requestId, userId, deviceId, connectedAt } = state;
    const durationMs = Date.now() - connectedAt;
    logEvent("info", "socket_close", {
      source: "UserObject",
      requestId,
      userId,
      deviceId,
      closeCode: code,
      durationMs,
    });
    // The close itself is the last we heard from this device.
    this.stores.presence.seen(Date.now());
    this.presenceService.mayHaveChanged(state.userId, [ws]);
  }

  /**
   * Set while someone watches this user (closes silent sockets and tells the watchers) and
   * while pushes wait to go (sends those that are due).
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const gone = this.presenceService.closeSilent();
    const userId = gone.map((ws) => stateOf(ws)?.userId).find((u) => u) ?? anySocketUser(this.ctx);
    if (userId) this.presenceService.mayHaveChanged(userId, gone);
    const next = await this.stores.pushes.sendDue();
    if (next !== null) this.wakeAt(next);
  }

  /** `PUT /v1/users/:userId/block` (`blocked` true) and `DELETE` (false): kept here, and told to the direct chat. */
  async setBlock(userId: string, target: string, blocked: boolean): Promise<Outcome<null>> {
    if (target === userId) return refuse("bad_request", "you cannot block yourself");
    const chatId = directChatId(userId, target);
    const told = await chatStub(this.env, chatId).setBlocking(chatId, userId, blocked);
    if (!told.ok) return told;
    if (blocked) {
      this.stores.blocks.add(target);
      this.stores.presence.removeWatcher(target);
    } else this.stores.blocks.remove(target);
    return ok(null);
  }

  /** `GET /v1/me/export`: what this object keeps of the user; the Worker adds its messages from each chat. */
  exportHead(): ExportHead {
    return exportHead(this.db);
  }

  /** `DELETE /v1/me` (see `erase.ts`); the Worker then calls `reset`. */
  erase(userId: string): Promise<Outcome<null>> {
    return eraseUser({ ctx: this.ctx, env: this.env, db: this.db }, userId);
  }

  /** After `erase`: this instance's memory holds what was erased, so it is dropped; the call fails with it. */
  reset(): void {
    this.ctx.abort("account erased");
  }

  /** `GET /v1/blocks`. */
  blockedUsers(): string[] {
    return this.stores.blocks.list();
  }

  /** Subscribes a device of the user to Web Push (`PUT /v1/devices/:deviceId/push`). */
  async setPushSubscription(
    userId: string,
    deviceId: string,
    subscription: StoredSubscription,
  ): Promise<Outcome<null>> {
    const first = !this.stores.pushes.any();
    const result = await this.stores.pushes.subscribe(deviceId, subscription);
    // Chats that parked this user before it took pushes do not know it does now: resumed, the
    // next message finds it offline and parks it again, this time with notices.
    if (result.ok && first) await this.inbound.resume(userId, this.stores.inbox.parkedChats());
    return result;
  }

  /** `DELETE /v1/devices/:deviceId/push`. */
  removePushSubscription(deviceId: string): void {
    this.stores.pushes.unsubscribe(deviceId);
  }

  /** `PUT /v1/chats/:chatId/mute` (`until` null: until unmuted) and `DELETE` (`unmute`). */
  setMute(chatId: string, until: number | null | "unmute"): void {
    if (until === "unmute") this.stores.pushes.unmute(chatId);
    else this.stores.pushes.mute(chatId, until);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const state = stateOf(ws);
    const who = {
      source: "UserObject",
      requestId: state?.requestId,
      userId: state?.userId,
      deviceId: state?.deviceId,
    } as const;
    logEvent("warn", "socket_error", { ...who, ...errorFields(error) });
  }

  /**
   * Called by a chat object with newly stored messages: pushed to the connected devices in seq
   * order (a gap refilled from the log first), or, with none connected, the chat is parked.
   */
  deliver(userId: string, delivery: Delivery): Promise<DeliveryAnswer> {
    return this.inbound.deliver(userId, delivery);
  }

  /** Takes one send from the user's rate limit, for a send over HTTP (sockets take theirs in `frames.ts`). */
  allowSend(): boolean {
    return this.sendGate.take();
  }

  /** The user's chats, for `GET /v1/chats`; parked chats and stale unread counts are asked of their chats. */
  listChats(userId: string): Promise<ChatSummary[]> {
    return this.refresh.listChats(userId);
  }

  /** Frames from a chat object (receipts, typing) for every connected device. */
  push(frames: ServerFrame[]): void {
    framesToDevices(this.ctx, this.stores.inbox, frames);
  }

  /**
   * The presence of this user as `asker` may see it: only when they share a chat. With `watch`,
   * the asker is told of every later change.
   */
  presenceFor(userId: string, asker: string, askerChats: string[], watch: boolean): Outcome<PresenceFrame> {
    return this.presenceService.presenceFor(userId, asker, askerChats, watch);
  }

  /** Asks `target`'s object for its presence on behalf of this user. */
  presenceOf(userId: string, target: string, watch = false): Promise<Outcome<PresenceFrame>> {
    return this.presenceService.presenceOf(userId, target, watch);
  }

  /** `GET /v1/me/settings`. */
  privacySettings(): PrivacySettings {
    return this.presenceService.privacySettings();
  }

  /** `PATCH /v1/me/settings`; a change of read receipts is told to every direct chat of the user. */
  updatePrivacy(userId: string, patch: Partial<PrivacySettings>): Promise<PrivacySettings> {
    return this.presenceService.updatePrivacy(userId, patch);
  }

  /** A watched user's presence changed; answers false when no device here watches it any more. */
  presenceChanged(frame: PresenceFrame): boolean {
    return this.presenceService.presenceChanged(frame);
  }

  private inboundHost(): Inbound {
    const inbox = () => this.stores.inbox;
    const pushes = () => this.stores.pushes;
    return new Inbound({
      sockets: () => this.ctx.getWebSockets(),
      online: () => this.presenceService.online(),
      get inbox() {
        return inbox();
      },
      receipts: this.receipts,
      ownCopies: this.ownCopies,
      chat: (chatId) => chatStub(this.env, chatId),
      get pushes() {
        return pushes();
      },
    });
  }

  private frameContext(): FrameContext {
    const inbox = () => this.stores.inbox;
    return {
      settings: this.settings,
      sendLimit: this.sendGate,
      floods: this.floods,
      sends: this.sends,
      receipts: this.receipts,
      // Read when a frame arrives: the inbox is made once the migrations ran.
      get inbox() {
        return inbox();
      },
      chat: (chatId) => chatStub(this.env, chatId),
      presenceOf: (userId, target, watch) => this.presenceOf(userId, target, watch),
    };
  }

  /** Has the alarm run at `time`, unless it is set to run sooner. */
  private wakeAt(time: number): void {
    if (this.alarmAt !== null && this.alarmAt <= time) return;
    this.alarmAt = time;
    void this.ctx.storage.setAlarm(time);
  }
}
