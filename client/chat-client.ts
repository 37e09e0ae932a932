/**
 * The chat client: one user's device. It keeps a connection open, syncs every chat from its
 * cursor after each `ready` and across any seq gap, hands the app each message once and in
 * seq order, resends the outbox until acked, and turns acks, receipts and the watermarks of
 * `ready` and the chat list into ticks. Files go up over HTTP first and are then sent through
 * the outbox like any message.
 */
import { READABLE_KINDS } from "../protocol/entries";
import type { Message, ServerFrame } from "../protocol/frames";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "../protocol/limits";
import { AttachmentUrls } from "./attachment-urls";
import { CatchUp } from "./catch-up";
import type { ChatClientOptions, SendFileOptions, SendOptions } from "./client-options";
import { type Connection, deviceConnection } from "./connection";
import { Cursors } from "./cursors";
import { type ChatEvents, type ConnectionState, Emitter, type TickStatus, type Watermarks } from "./events";
import type { FileBody } from "./file-checks";
import { FileSends } from "./file-sends";
import { isHidden, type LogRow } from "./hidden-rows";
import { type ByteRange, ChatApi, type HistoryMode, type HistoryQuery, type SettingsPatch, trimSlash } from "./http";
import { Marks } from "./marks";
import { Outbox, type OutboxEntry, type SendResult } from "./outbox";
import { disablePush, enablePush } from "./push";
import { ownMessageOf } from "./send-frames";
import { Sends } from "./sends";
import { Sequencer } from "./sequencer";
import { memoryStorage } from "./storage";
import { Ticks } from "./ticks";

export type { ChatClientOptions, SendFileOptions, SendOptions } from "./client-options";

/** Errors after which a send or history request is tried again later rather than given up. */
const RETRYABLE = new Set(["rate_limited", "internal"]);
const RETRY_MS = 1_500;

export class ChatClient extends Emitter<ChatEvents> {
  readonly userId: string;
  readonly deviceId: string;
  readonly api: ChatApi;
  private readonly connection: Connection;
  private readonly cursors: Cursors;
  private readonly outbox: Outbox;
  private readonly sequencer: Sequencer;
  private readonly ticks: Ticks;
  private readonly marks: Marks;
  private readonly catchUps: CatchUp;
  private readonly files: FileSends;
  private readonly sends: Sends;
  private readonly attachmentUrls: AttachmentUrls;
  private connState: ConnectionState = "closed";
  /** The connection whose `ready` was handled: frames go out only once the server said ready. */
  private readyOn = -1;
  private watched: string[] | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: ChatClientOptions) {
    super();
    this.userId = options.userId;
    this.deviceId = options.deviceId;
    const baseUrl = trimSlash(options.baseUrl);
    const storage = options.storage ?? memoryStorage();
    const prefix = `edge-chat:${options.userId}:${options.deviceId}`;
    const pageSize = Math.min(options.historyPageSize ?? MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT) || DEFAULT_HISTORY_LIMIT;
    this.api = new ChatApi(baseUrl, options.getToken, options.fetch);
    this.attachmentUrls = new AttachmentUrls((chatId, id) => this.download(chatId, id));
    this.cursors = new Cursors(storage, `${prefix}:cursors`);
    this.outbox = new Outbox(storage, `${prefix}:outbox`);
    this.files = new FileSends(this.api, this.outbox, (send, opts) => this.submit(send, opts), options);
    this.ticks = new Ticks((tick) => this.emit("tick", tick), {
      storage,
      key: `${prefix}:ticks`,
      moved: (chatId, marks) => this.emit("watermarks", { chatId, ...marks }),
    });
    this.sequencer = new Sequencer(this.cursors, (row) => this.deliver(row));
    const host = {
      live: () => this.live,
      send: (frame: Parameters<Connection["send"]>[0]) => this.connection.send(frame),
      cursor: (chatId: string) => this.cursors.get(chatId),
    };
    this.marks = new Marks(host);
    this.sends = new Sends(this.outbox, { ...host, current: () => this.connection.current });
    this.catchUps = new CatchUp(
      {
        ...host,
        take: (chatId, rows) => this.take(chatId, rows, false),
        hasGap: (chatId) => this.sequencer.hasGap(chatId),
      },
      pageSize,
    );
    this.connection = deviceConnection(
      { ...options, baseUrl },
      {
        onFrame: (frame) => this.onFrame(frame),
        onConnecting: () => this.setState({ state: "connecting" }),
        onClose: (info) => this.setState({ state: "closed", ...info }),
        onError: (message) => this.emit("error", { code: "connection", message }),
      },
    );
  }

  get state(): ConnectionState {
    return this.connState;
  }

  /** Connects, and keeps reconnecting after every loss until `close()`. */
  connect(): void {
    this.connection.start();
  }

  /** Drops the socket and connects again at once (e.g. when the network is back). */
  reconnect(): void {
    this.connection.reconnect();
  }

  /**
   * Drops the connection until `connect()` (e.g. while the browser reports it is offline).
   * Sends keep waiting in the outbox, their promises still pending.
   */
  disconnect(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connection.stop();
  }

  /** Disconnects for good. Unsent messages stay in storage and go out on the next connect. */
  close(): void {
    this.disconnect();
    this.outbox.abandon(new Error("the chat client was closed before the message was acknowledged"));
  }

  /**
   * Sends a text message. It waits in the outbox (and survives reconnects) until stored; the
   * promise resolves with its seq once the server acknowledged it.
   */
  send(chatId: string, body: string, options: SendOptions = {}): Promise<SendResult> {
    return this.submit({ chatId, body }, options);
  }

  /** Sends a text message that quotes message `replyTo` of the chat; otherwise as `send`. */
  reply(chatId: string, replyTo: number, body: string, options: SendOptions = {}): Promise<SendResult> {
    return this.submit({ chatId, body, replyTo }, options);
  }

  /** Replaces the text of an own message `target` (within the server's edit window). */
  edit(chatId: string, target: number, body: string, options: SendOptions = {}): Promise<SendResult> {
    return this.submit({ chatId, body, kind: "edit", target }, options);
  }

  /** Deletes message `target` for everyone: an own message, or any one for a group admin. */
  deleteForEveryone(chatId: string, target: number, options: SendOptions = {}): Promise<SendResult> {
    return this.submit({ chatId, body: "", kind: "delete", target }, options);
  }

  /** Reacts to message `target` with one emoji, replacing this user's earlier one; `""` takes it back. */
  react(chatId: string, target: number, emoji: string, options: SendOptions = {}): Promise<SendResult> {
    return this.submit({ chatId, body: emoji, kind: "reaction", target }, options);
  }

  /**
   * Sends a file with an optional caption. The file is checked here first (size, type, first
   * bytes; `too_large` or `bad_request` before any request), uploaded once over HTTP with the
   * token in the `Authorization` header, then sent through the outbox like a text: resends after
   * a reconnect name the same upload. A refused upload rejects with a `ProtocolError` carrying the
   * server's code and message (a network failure with a `ChatApiError` of code `network`), and
   * nothing is sent. The same clientMsgId while the first call is uploading or queued joins it.
   */
  sendFile(chatId: string, file: FileBody, options: SendFileOptions): Promise<SendResult> {
    return this.files.send(chatId, file, options);
  }

  /** A chat's file (or the part `range` of it) as a Blob of its type, fetched with the token in the header. */
  download(chatId: string, attachmentId: string, options: { range?: ByteRange } = {}): Promise<Blob> {
    return this.api.downloadAttachment(chatId, attachmentId, options.range);
  }

  /**
   * A `blob:` URL of a chat's file, for `<img src>` and links: browsers cannot send a bearer
   * token with those, and no token belongs in a URL. Downloaded once per file and kept until
   * `revokeAttachmentUrls()`.
   */
  attachmentUrl(chatId: string, attachmentId: string): Promise<string> {
    return this.attachmentUrls.get(chatId, attachmentId);
  }

  /** Frees every URL `attachmentUrl` made (e.g. on sign-out); images still showing them break. */
  revokeAttachmentUrls(): void {
    this.attachmentUrls.revokeAll();
  }

  /**
   * Web Push for this device (browsers): subscribes the service worker's `registration` with the
   * server's key (`userVisibleOnly`) and gives the subscription to the server, replacing this
   * device's earlier one. Ask `Notification.requestPermission()` first. Rejects with a
   * `ProtocolError` when the server refuses (`not_found`: push is off there; `bad_request`), and
   * with the browser's error when it cannot subscribe.
   */
  enablePush(registration: ServiceWorkerRegistration): Promise<PushSubscription> {
    return enablePush(this.api, this.deviceId, registration);
  }

  /** Ends this device's pushes: unsubscribes in the browser, then removes it on the server. */
  disablePush(registration: ServiceWorkerRegistration): Promise<void> {
    return disablePush(this.api, this.deviceId, registration);
  }

  /** Marks the chat read up to seq (the peer's blue ticks); sent now or after the next connect. */
  markRead(chatId: string, seq: number): void {
    this.marks.markRead(chatId, seq);
  }

  /** Tells the chat's other members that this user is (or stopped) typing. Not queued. */
  typing(chatId: string, on: boolean): void {
    if (this.live) this.connection.send({ type: "typing", chatId, on });
  }

  /** Follows these users' presence (replacing the list); kept across reconnects. */
  watch(userIds: string[]): void {
    this.watched = [...new Set(userIds)];
    if (this.live) this.connection.send({ type: "watch", userIds: this.watched });
  }

  /** The highest seq up to which this device holds every message of the chat. */
  cursor(chatId: string): number {
    return this.cursors.get(chatId);
  }

  /**
   * The tick of an own message (text or file) of the chat from the watermarks this device
   * knows: from `receipt` frames, and after a reload from the storage and the `receipts` that
   * `ready` and `listChats` carry. A message not yet acknowledged is the app's to show as pending.
   */
  tickOf(chatId: string, seq: number): TickStatus {
    return this.ticks.tickOf(chatId, seq);
  }

  /** Every own message of the chat up to `delivered` is delivered, up to `read` read (see `tickOf`). */
  watermarks(chatId: string): Watermarks {
    return this.ticks.watermarks(chatId);
  }

  /** Sends not yet acknowledged (e.g. to show them as pending after a reload). */
  pending(): OutboxEntry[] {
    return this.outbox.entries();
  }

  /** The user's chats (`api.listChats`); their `receipts` move the ticks this device shows. */
  readonly listChats = async (): ReturnType<ChatApi["listChats"]> => {
    const chats = await this.api.listChats();
    for (const chat of chats) if (chat.receipts) this.ticks.restore(chat.chatId, chat.receipts);
    return chats;
  };

  // Thin HTTP helpers; `api` has the rest (members, roles, receipts, presence, push subscriptions, mutes).
  readonly createDirectChat = (userId: string) => this.api.createDirectChat(userId);
  readonly createGroup = (title: string, members: string[], options: { history?: HistoryMode } = {}) =>
    this.api.createGroup(title, members, options);
  readonly block = (userId: string) => this.api.block(userId);
  readonly unblock = (userId: string) => this.api.unblock(userId);
  readonly blocks = () => this.api.blocks();
  readonly settings = () => this.api.settings();
  readonly updateSettings = (patch: SettingsPatch) => this.api.updateSettings(patch);
  readonly getChat = (chatId: string) => this.api.getChat(chatId);
  readonly history = (chatId: string, query: HistoryQuery = {}) => this.api.history(chatId, query);

  protected override onListenerError(err: unknown, type: string): void {
    super.onListenerError(err, type);
    if (type !== "error") this.emit("error", { code: "listener", message: `a "${type}" listener threw: ${err}` });
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "ready":
        this.onReady(frame);
        break;
      case "ack":
        this.onAck(frame);
        break;
      case "history":
        this.catchUps.onHistory(frame);
        break;
      case "message": {
        const { type: _type, ...message } = frame;
        this.take(message.chatId, [message]);
        break;
      }
      case "receipt": {
        const { type: _type, ...receipt } = frame;
        this.emit("receipt", receipt);
        this.ticks.receipt(frame.chatId, frame.seq, frame.status);
        break;
      }
      case "read":
        this.emit("read", { chatId: frame.chatId, seq: frame.seq });
        break;
      case "typing":
        this.emit("typing", { chatId: frame.chatId, userId: frame.userId, on: frame.on });
        break;
      case "presence":
        this.emit("presence", { userId: frame.userId, online: frame.online, lastSeen: frame.lastSeen });
        break;
      case "error":
        this.onError(frame);
        break;
    }
  }

  private onReady(frame: Extract<ServerFrame, { type: "ready" }>): void {
    if (frame.userId !== this.userId) {
      this.emit("error", { code: "unauthorized", message: `token is for ${frame.userId}, not ${this.userId}` });
      this.close();
      return;
    }
    // Whatever was in flight on the old socket is lost with it.
    this.catchUps.reset(this.sequencer.gaps());
    this.sends.reset();
    this.marks.reset();
    this.readyOn = this.connection.current;
    for (const chat of frame.chats) {
      if (chat.receipts) this.ticks.restore(chat.chatId, chat.receipts);
      if (chat.lastSeq > this.cursors.get(chat.chatId)) this.catchUps.want(chat.chatId);
      else this.marks.receivedDueFor(chat.chatId);
    }
    this.catchUps.flush();
    this.marks.flushReceived();
    this.marks.flushReads();
    if (this.watched) this.watch(this.watched);
    this.flushOutbox();
    this.setState({ state: "open" });
  }

  private onAck(frame: Extract<ServerFrame, { type: "ack" }>): void {
    const { chatId, clientMsgId, seq } = frame;
    const entry = this.sends.acked(frame);
    if (entry) this.take(chatId, [ownMessageOf(entry, frame, this.userId)]);
    if (!entry || READABLE_KINDS.has(entry.kind ?? "text")) this.ticks.sent(chatId, seq, clientMsgId);
  }

  private onError(frame: Extract<ServerFrame, { type: "error" }>): void {
    const retry = RETRYABLE.has(frame.code);
    const send = this.sends.refused(frame, retry);
    const historyOf = frame.id && !send ? this.catchUps.failed(frame.id, retry) : undefined;
    if ((send || historyOf !== undefined) && retry) {
      this.retryLater();
      return;
    }
    if (historyOf !== undefined) this.sequencer.drop(historyOf);
    this.emit("error", {
      code: frame.code,
      message: frame.message,
      chatId: send?.chatId ?? historyOf,
      clientMsgId: send?.clientMsgId,
    });
  }

  /** Rows of one chat from anywhere: in-order ones go to the app; a gap triggers a catch-up. */
  private take(chatId: string, rows: readonly LogRow[], fillGap = true): void {
    const before = this.cursors.get(chatId);
    const gap = this.sequencer.add(chatId, rows);
    if (this.cursors.get(chatId) > before) {
      this.marks.receivedDueFor(chatId);
      queueMicrotask(() => this.marks.flushReceived());
    }
    if (gap && fillGap) this.catchUps.request(chatId);
  }

  private deliver(row: LogRow): void {
    if (isHidden(row)) {
      this.emit("hidden", row);
      return;
    }
    const message: Message = row;
    this.emit("message", message);
    // Ticks are for messages people read: receipts never count edits, deletes or reactions.
    if (message.sender === this.userId && READABLE_KINDS.has(message.kind))
      this.ticks.sent(message.chatId, message.seq, message.clientMsgId);
  }

  /** Whether the current socket is open and its `ready` was handled. */
  private get live(): boolean {
    return this.connection.isOpen && this.readyOn === this.connection.current;
  }

  private submit(send: Omit<OutboxEntry, "clientMsgId">, options: SendOptions): Promise<SendResult> {
    return this.sends.submit(send, options.clientMsgId);
  }

  private flushOutbox(): void {
    this.sends.flush();
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.catchUps.flush();
        this.flushOutbox();
      },
      RETRY_MS + Math.random() * RETRY_MS,
    );
  }

  private setState(event: ChatEvents["state"]): void {
    this.connState = event.state;
    this.emit("state", event);
  }
}
