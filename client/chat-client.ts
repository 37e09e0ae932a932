/**
 * The chat client: one user's device. It keeps a connection open, syncs every chat from its
 * cursor after each `ready` and across any seq gap, hands the app each message once and in
 * seq order, resends the outbox until acked, and turns acks and receipts into ticks. Files go
 * up over HTTP first and are then sent through the outbox like any message.
 */
import { DEFAULT_ATTACHMENT_TYPES, DEFAULT_MAX_ATTACHMENT_BYTES } from "../protocol/attachments";
import { READABLE_KINDS } from "../protocol/entries";
import { ProtocolError } from "../protocol/errors";
import { type Message, type SendFrame, type ServerFrame, sendFrame } from "../protocol/frames";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "../protocol/limits";
import { describeIssues, isBodyTooLarge } from "../protocol/parse";
import { AttachmentUrls } from "./attachment-urls";
import { type BackoffOptions, Connection, DEFAULT_PING_INTERVAL_MS, type SocketFactory } from "./connection";
import { Cursors } from "./cursors";
import { type ChatEvents, type ConnectionState, Emitter } from "./events";
import { checkFile, type FileBody, type FileLimits } from "./file-checks";
import { type ByteRange, ChatApi, ChatApiError, type HistoryQuery, trimSlash } from "./http";
import { newClientMsgId } from "./ids";
import { Outbox, type OutboxEntry, type SendResult } from "./outbox";
import { disablePush, enablePush } from "./push";
import { Sequencer } from "./sequencer";
import { type ChatStorage, memoryStorage } from "./storage";
import { Ticks } from "./ticks";
import type { UploadProgress } from "./upload";

export interface ChatClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8787` or `location.origin`. */
  baseUrl: string;
  /** The signed-in user; `ready` must name the same user. */
  userId: string;
  /** Stable per install: cursors and the outbox belong to it. */
  deviceId: string;
  /** Called before every (re)connect and HTTP call; answer a fresh, valid token. */
  getToken: () => Promise<string>;
  /** Where cursors and the outbox are kept (default: memory; `webStorage(localStorage)` in browsers). */
  storage?: ChatStorage;
  /** Opens a WebSocket (default: the global WebSocket of browsers and Node 22). */
  createSocket?: SocketFactory;
  fetch?: typeof fetch;
  pingIntervalMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Messages per history page when catching up (at most 500). */
  historyPageSize?: number;
  /** The server's `MAX_ATTACHMENT_BYTES`, if not the default: `sendFile` refuses larger files itself. */
  maxAttachmentBytes?: number;
  /** The server's `ATTACHMENT_TYPES`, if not the default: `sendFile` refuses other types itself. */
  attachmentTypes?: readonly string[];
}

export interface SendOptions {
  /** Reuse one to send the same thing again idempotently (e.g. after a reload); new by default. */
  clientMsgId?: string;
}

export interface SendFileOptions extends SendOptions {
  /** The file's name as the chat shows it (the server keeps its last path segment, cleaned). */
  name: string;
  /** The media type; by default the Blob's own type, else one from the name's extension. */
  contentType?: string;
  /** The message's caption (default `""`). */
  caption?: string;
  /** The seq of a message the file replies to. */
  replyTo?: number;
  /**
   * Upload progress. Browsers report it as the bytes go (through `XMLHttpRequest`); Node's
   * `fetch` cannot, so there it is `{ loaded: 0 }` at the start and `{ loaded: total }` once the
   * server accepted the file. Either way it ends with `loaded === total` when the upload succeeded.
   */
  onProgress?: (progress: UploadProgress) => void;
}

type Request = { kind: "send"; chatId: string; clientMsgId: string } | { kind: "history"; chatId: string };

/** Stands for the upload id while a file's message is checked, before the upload has one. */
const PLACEHOLDER_ATTACHMENT = { id: "a".repeat(26), size: 1, contentType: "text/plain", name: "file" };

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
  private readonly pageSize: number;
  private readonly fileLimits: FileLimits;
  private readonly attachmentUrls: AttachmentUrls;
  /** Files being uploaded by `sendFile`, by chat and clientMsgId: a second call joins the first. */
  private readonly uploading = new Map<string, Promise<SendResult>>();
  private connState: ConnectionState = "closed";
  private nextId = 0;
  /** Requests awaiting an answer on the current connection, by frame id. */
  private requests = new Map<string, Request>();
  /** Chats with a history request in flight, and whether another is wanted after it. */
  private catchingUp = new Map<string, { id: string; again: boolean }>();
  private receivedSent = new Map<string, number>();
  private readonly receivedDue = new Set<string>();
  private readonly readWanted = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  private readonly catchUpWanted = new Set<string>();
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
    this.pageSize = Math.min(options.historyPageSize ?? MAX_HISTORY_LIMIT, MAX_HISTORY_LIMIT) || DEFAULT_HISTORY_LIMIT;
    this.api = new ChatApi(baseUrl, options.getToken, options.fetch);
    this.fileLimits = {
      maxBytes: options.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES,
      types: new Set(options.attachmentTypes ?? DEFAULT_ATTACHMENT_TYPES),
    };
    this.attachmentUrls = new AttachmentUrls((chatId, id) => this.download(chatId, id));
    this.cursors = new Cursors(storage, `${prefix}:cursors`);
    this.outbox = new Outbox(storage, `${prefix}:outbox`);
    this.ticks = new Ticks((tick) => this.emit("tick", tick));
    this.sequencer = new Sequencer(this.cursors, (m) => this.deliver(m));
    const wsBase = baseUrl.replace(/^http/, "ws");
    const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url));
    this.connection = new Connection({
      url: (token) =>
        `${wsBase}/v1/connect?device=${encodeURIComponent(options.deviceId)}&token=${encodeURIComponent(token)}`,
      getToken: options.getToken,
      createSocket,
      backoff: { baseMs: options.backoff?.baseMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 },
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      onFrame: (frame) => this.onFrame(frame),
      onConnecting: () => this.setState({ state: "connecting" }),
      onClose: (info) => this.setState({ state: "closed", ...info }),
      onError: (message) => this.emit("error", { code: "connection", message }),
    });
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
    const clientMsgId = options.clientMsgId ?? newClientMsgId();
    const key = `${chatId}\n${clientMsgId}`;
    const queued = this.outbox.get(chatId, clientMsgId);
    if (queued) return this.outbox.add(queued);
    let sending = this.uploading.get(key);
    if (!sending) {
      sending = this.uploadAndSend(chatId, file, { ...options, clientMsgId });
      this.uploading.set(key, sending);
      const done = () => this.uploading.delete(key);
      sending.then(done, done);
    }
    return sending;
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
    if (seq <= Math.max(this.readWanted.get(chatId) ?? 0, this.readSent.get(chatId) ?? 0)) return;
    this.readWanted.set(chatId, seq);
    this.flushReads();
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

  /** Sends not yet acknowledged (e.g. to show them as pending after a reload). */
  pending(): OutboxEntry[] {
    return this.outbox.entries();
  }

  // Thin HTTP helpers; `api` has the rest (members, roles, receipts, presence, push subscriptions, mutes).
  readonly createDirectChat = (userId: string) => this.api.createDirectChat(userId);
  readonly createGroup = (title: string, members: string[]) => this.api.createGroup(title, members);
  readonly listChats = () => this.api.listChats();
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
        this.onHistory(frame);
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
    for (const chatId of [...this.catchingUp.keys(), ...this.sequencer.gaps()]) this.catchUpWanted.add(chatId);
    this.requests = new Map();
    this.catchingUp = new Map();
    this.receivedSent = new Map();
    this.readSent.clear();
    this.readyOn = this.connection.current;
    for (const chat of frame.chats) {
      if (chat.lastSeq > this.cursors.get(chat.chatId)) this.catchUpWanted.add(chat.chatId);
      else this.receivedDue.add(chat.chatId);
    }
    for (const chatId of [...this.catchUpWanted]) this.catchUp(chatId);
    this.flushReceived();
    this.flushReads();
    if (this.watched) this.watch(this.watched);
    this.flushOutbox();
    this.setState({ state: "open" });
  }

  private onAck(frame: Extract<ServerFrame, { type: "ack" }>): void {
    if (frame.id) this.requests.delete(frame.id);
    const { chatId, clientMsgId, seq, ts } = frame;
    const entry = this.outbox.get(chatId, clientMsgId);
    this.outbox.acked({ chatId, clientMsgId, seq, ts });
    // The server sends the sending device an ack instead of a copy: the ack stands for the entry.
    // It carries every field the server stored, so a view applies an own change as others' do.
    if (entry) {
      const kind = entry.kind ?? "text";
      const own: Message = { chatId, seq, sender: this.userId, clientMsgId, body: entry.body, ts, kind };
      if (entry.target !== undefined) own.target = entry.target;
      if (entry.replyTo !== undefined) own.replyTo = entry.replyTo;
      if (entry.attachment !== undefined) own.attachment = entry.attachment;
      this.take(chatId, [own]);
    }
    if (!entry || READABLE_KINDS.has(entry.kind ?? "text")) this.ticks.sent(chatId, seq, clientMsgId);
  }

  private onHistory(frame: Extract<ServerFrame, { type: "history" }>): void {
    const pending = frame.id ? this.catchingUp.get(frame.chatId) : undefined;
    if (!frame.id || pending?.id !== frame.id) return;
    this.requests.delete(frame.id);
    this.catchingUp.delete(frame.chatId);
    const before = this.cursors.get(frame.chatId);
    this.take(frame.chatId, frame.messages, false);
    const advanced = this.cursors.get(frame.chatId) > before;
    // Page on while the log has more, or while messages wait above a gap; stop if a page brought nothing.
    if (advanced && (frame.more || pending.again || this.sequencer.hasGap(frame.chatId))) this.catchUp(frame.chatId);
  }

  private onError(frame: Extract<ServerFrame, { type: "error" }>): void {
    const request = frame.id ? this.requests.get(frame.id) : undefined;
    if (frame.id) this.requests.delete(frame.id);
    const retry = RETRYABLE.has(frame.code);
    if (request?.kind === "send") {
      if (retry) {
        this.outbox.markUnsent(request.chatId, request.clientMsgId);
        this.retryLater();
        return;
      }
      const error = new ProtocolError(frame.code, frame.message);
      this.outbox.failed(request.chatId, request.clientMsgId, error);
    } else if (request?.kind === "history") {
      this.catchingUp.delete(request.chatId);
      if (retry) {
        this.catchUpWanted.add(request.chatId);
        this.retryLater();
        return;
      }
      this.catchUpWanted.delete(request.chatId);
      this.sequencer.drop(request.chatId);
    }
    this.emit("error", {
      code: frame.code,
      message: frame.message,
      chatId: request?.chatId,
      clientMsgId: request?.kind === "send" ? request.clientMsgId : undefined,
    });
  }

  /** Messages of one chat from anywhere: in-order ones go to the app; a gap triggers a catch-up. */
  private take(chatId: string, messages: readonly Message[], fillGap = true): void {
    const before = this.cursors.get(chatId);
    const gap = this.sequencer.add(chatId, messages);
    if (this.cursors.get(chatId) > before) {
      this.receivedDue.add(chatId);
      queueMicrotask(() => this.flushReceived());
    }
    if (gap && fillGap) this.catchUp(chatId);
  }

  private deliver(message: Message): void {
    this.emit("message", message);
    // Ticks are for messages people read: receipts never count edits, deletes or reactions.
    if (message.sender === this.userId && READABLE_KINDS.has(message.kind))
      this.ticks.sent(message.chatId, message.seq, message.clientMsgId);
  }

  /** Asks for the chat's messages after the cursor (one request per chat at a time). */
  private catchUp(chatId: string): void {
    const inFlight = this.catchingUp.get(chatId);
    if (inFlight) {
      inFlight.again = true;
      return;
    }
    this.catchUpWanted.add(chatId);
    if (!this.live) return;
    const id = `h:${++this.nextId}`;
    const after = this.cursors.get(chatId);
    if (!this.connection.send({ type: "history", id, chatId, after, limit: this.pageSize })) return;
    this.catchUpWanted.delete(chatId);
    this.catchingUp.set(chatId, { id, again: false });
    this.requests.set(id, { kind: "history", chatId });
  }

  /** Whether the current socket is open and its `ready` was handled. */
  private get live(): boolean {
    return this.connection.isOpen && this.readyOn === this.connection.current;
  }

  /** Validates a send as the server will, then queues it in the outbox and sends it when live. */
  private submit(send: Omit<OutboxEntry, "clientMsgId">, options: SendOptions): Promise<SendResult> {
    const entry: OutboxEntry = { ...send, clientMsgId: options.clientMsgId ?? newClientMsgId() };
    const problem = problemOf(entry);
    if (problem) return Promise.reject(problem);
    const result = this.outbox.add(entry);
    this.flushOutbox();
    return result;
  }

  /** Checks the message and the file, uploads the file once, then sends the message naming it. */
  private async uploadAndSend(
    chatId: string,
    file: FileBody,
    options: SendFileOptions & { clientMsgId: string },
  ): Promise<SendResult> {
    const { clientMsgId, caption = "", replyTo } = options;
    const message: Omit<OutboxEntry, "attachment"> = { chatId, clientMsgId, body: caption, kind: "attachment" };
    if (replyTo !== undefined) message.replyTo = replyTo;
    // The message is checked before the upload: a caption too long must not cost an upload.
    const problem = problemOf({ ...message, attachment: PLACEHOLDER_ATTACHMENT });
    if (problem) throw problem;
    const checked = await checkFile(file, options, this.fileLimits);
    let attachment: OutboxEntry["attachment"];
    try {
      attachment = await this.api.uploadAttachment(chatId, checked.blob, {
        name: checked.name,
        contentType: checked.contentType,
        onProgress: options.onProgress,
      });
    } catch (err) {
      if (err instanceof ChatApiError && err.code !== "network") throw new ProtocolError(err.code, err.message);
      throw err;
    }
    return this.submit({ ...message, attachment }, { clientMsgId });
  }

  private flushOutbox(): void {
    if (!this.live) return;
    for (const entry of this.outbox.takeUnsent(this.connection.current)) {
      const id = `s:${++this.nextId}`;
      const { chatId, clientMsgId } = entry;
      if (!this.connection.send(sendFrameOf(entry, id))) {
        this.outbox.markUnsent(chatId, clientMsgId);
        return;
      }
      this.requests.set(id, { kind: "send", chatId, clientMsgId });
    }
  }

  private flushReceived(): void {
    if (!this.live) return;
    for (const chatId of this.receivedDue) {
      const seq = this.cursors.get(chatId);
      if (seq > 0 && seq > (this.receivedSent.get(chatId) ?? 0)) {
        if (!this.connection.send({ type: "received", chatId, seq })) return;
        this.receivedSent.set(chatId, seq);
      }
      this.receivedDue.delete(chatId);
    }
  }

  private flushReads(): void {
    if (!this.live) return;
    for (const [chatId, seq] of this.readWanted) {
      if (!this.connection.send({ type: "read", chatId, seq })) return;
      this.readSent.set(chatId, seq);
      this.readWanted.delete(chatId);
    }
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        for (const chatId of [...this.catchUpWanted]) this.catchUp(chatId);
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

/** Why the server would refuse this send (as a `ProtocolError`), or null. */
function problemOf(entry: OutboxEntry): ProtocolError | null {
  const check = sendFrame.safeParse(sendFrameOf(entry));
  if (check.success) return null;
  return new ProtocolError(isBodyTooLarge(check.error) ? "too_large" : "bad_request", describeIssues(check.error));
}

/** The `send` frame of an outbox entry (a text has no `kind`, as in v1; a file is named by its id). */
function sendFrameOf(entry: OutboxEntry, id?: string): SendFrame {
  const { chatId, clientMsgId, body, kind, target, replyTo, attachment } = entry;
  const frame: SendFrame = { type: "send", chatId, clientMsgId, body };
  if (id !== undefined) frame.id = id;
  if (kind !== undefined) frame.kind = kind;
  if (target !== undefined) frame.target = target;
  if (replyTo !== undefined) frame.replyTo = replyTo;
  if (attachment !== undefined) frame.attachment = { id: attachment.id };
  return frame;
}
