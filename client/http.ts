/**
 * Thin typed helpers for the HTTP routes of protocol v1. Every call asks `getToken` for the
 * token it sends; errors answer a `ChatApiError` carrying the server's code and message.
 */
import type { z } from "zod";
import type { ErrorBody, ErrorCode } from "../protocol/errors";
import type { AttachmentInfo } from "../protocol/frames";
import type {
  addMemberBody,
  ChatDetails,
  ChatSummary,
  createChatBody,
  devTokenBody,
  HistoryMode,
  HistoryPage,
  HistoryQuery,
  MessageReceipts,
  muteBody,
  Presence,
  PrivacySettings,
  pushSubscriptionBody,
  Role,
  setRoleBody,
  settingsPatchBody,
} from "../protocol/http";
import { postFile, type UploadProgress } from "./upload";

export type {
  ChatDetails,
  ChatSummary,
  HistoryMode,
  HistoryPage,
  HistoryQuery,
  Presence,
  PrivacySettings,
} from "../protocol/http";
/** `PATCH /v1/me/settings`: some or all of the settings. */
export type SettingsPatch = z.input<typeof settingsPatchBody>;
/** Message info: who holds and who has read one message. */
export type Receipts = MessageReceipts;
/** A push subscription as a browser's `PushSubscription.toJSON()` gives it (`expirationTime` is ignored). */
export type PushSubscriptionJson = z.input<typeof pushSubscriptionBody>;

export interface UploadOptions {
  /** The file's name as the chat shows it (the server cleans it). */
  name: string;
  /** The file's media type, sent as `Content-Type`. */
  contentType: string;
  onProgress?: (progress: UploadProgress) => void;
}

/** Part of a file: `length` bytes from `offset` (to the end when absent). */
export interface ByteRange {
  offset: number;
  length?: number;
}

export class ChatApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "network",
    message: string,
  ) {
    super(message);
    this.name = "ChatApiError";
  }
}

export class ChatApi {
  constructor(
    private readonly baseUrl: string,
    private readonly getToken: () => Promise<string>,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** Opens the direct chat with `userId`: the same chat id for both users, every time. */
  async createDirectChat(userId: string): Promise<string> {
    const body: z.input<typeof createChatBody> = { type: "direct", with: userId };
    return (await this.request<{ chatId: string }>("POST", "/v1/chats", body)).chatId;
  }

  /**
   * Creates a group; the caller becomes a member and its admin. `history: "shared"` shows members
   * added later the whole log (by default they see it from their join on).
   */
  async createGroup(title: string, members: string[], options: { history?: HistoryMode } = {}): Promise<string> {
    const body: z.input<typeof createChatBody> = { type: "group", title, members };
    if (options.history) body.history = options.history;
    return (await this.request<{ chatId: string }>("POST", "/v1/chats", body)).chatId;
  }

  /** The caller's chats, each with its `lastSeq`, `readSeq` and `unread` count. */
  async listChats(): Promise<ChatSummary[]> {
    return (await this.request<{ chats: ChatSummary[] }>("GET", "/v1/chats")).chats;
  }

  getChat(chatId: string): Promise<ChatDetails> {
    return this.request("GET", `/v1/chats/${encodeURIComponent(chatId)}`);
  }

  /** A page of history: `after` (ascending) or `before` (descending, for scrolling up). */
  history(chatId: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    const params = new URLSearchParams();
    for (const key of ["after", "before", "limit"] as const) {
      const value = query[key];
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.toString() ? `?${params}` : "";
    return this.request("GET", `/v1/chats/${encodeURIComponent(chatId)}/messages${qs}`);
  }

  async addMember(chatId: string, userId: string, role?: Role): Promise<void> {
    const body: z.input<typeof addMemberBody> = role ? { userId, role } : { userId };
    await this.request("POST", `/v1/chats/${encodeURIComponent(chatId)}/members`, body);
  }

  async removeMember(chatId: string, userId: string): Promise<void> {
    await this.request("DELETE", `/v1/chats/${encodeURIComponent(chatId)}/members/${encodeURIComponent(userId)}`);
  }

  /** Admins make a member an admin, or an admin a member again. */
  async setRole(chatId: string, userId: string, role: Role): Promise<void> {
    const body: z.input<typeof setRoleBody> = { role };
    await this.request("PATCH", `/v1/chats/${encodeURIComponent(chatId)}/members/${encodeURIComponent(userId)}`, body);
  }

  /** Who holds and who has read one message (for its sender, and in groups for admins). */
  receipts(chatId: string, seq: number): Promise<Receipts> {
    return this.request("GET", `/v1/chats/${encodeURIComponent(chatId)}/messages/${seq}/receipts`);
  }

  presence(userId: string): Promise<Presence> {
    return this.request("GET", `/v1/users/${encodeURIComponent(userId)}/presence`);
  }

  /**
   * Blocks `userId`: its sends into the direct chat with the caller are refused (`forbidden`), it
   * gets no typing, presence or receipts from the caller. Groups are unaffected.
   */
  async block(userId: string): Promise<void> {
    await this.request("PUT", this.blockPath(userId));
  }

  async unblock(userId: string): Promise<void> {
    await this.request("DELETE", this.blockPath(userId));
  }

  /** The users the caller blocked, sorted. */
  async blocks(): Promise<string[]> {
    return (await this.request<{ userIds: string[] }>("GET", "/v1/blocks")).userIds;
  }

  /** The caller's privacy settings: who sees its last seen, and whether its reads give blue ticks. */
  settings(): Promise<PrivacySettings> {
    return this.request("GET", "/v1/me/settings");
  }

  /** Changes any of the privacy settings; answers all of them as they now stand. */
  updateSettings(patch: SettingsPatch): Promise<PrivacySettings> {
    return this.request("PATCH", "/v1/me/settings", patch);
  }

  /** The server's VAPID public key (base64url) for `PushManager.subscribe`; `not_found` where push is off. */
  async pushKey(): Promise<string> {
    return (await this.request<{ publicKey: string }>("GET", "/v1/push/key")).publicKey;
  }

  /** Subscribes one of the caller's devices to Web Push, replacing its earlier subscription. */
  async setPushSubscription(deviceId: string, subscription: PushSubscriptionJson): Promise<void> {
    await this.request("PUT", this.devicePushPath(deviceId), subscription);
  }

  /** The device gets no more pushes (no error if it had no subscription). */
  async removePushSubscription(deviceId: string): Promise<void> {
    await this.request("DELETE", this.devicePushPath(deviceId));
  }

  /** No pushes from the chat until `until` (ms since the epoch), or until `unmute` when null. */
  async mute(chatId: string, until: number | null): Promise<void> {
    const body: z.input<typeof muteBody> = { until };
    await this.request("PUT", `/v1/chats/${encodeURIComponent(chatId)}/mute`, body);
  }

  async unmute(chatId: string): Promise<void> {
    await this.request("DELETE", `/v1/chats/${encodeURIComponent(chatId)}/mute`);
  }

  /**
   * Uploads a file to the chat, not sent yet: send it with a `kind: "attachment"` message
   * (`ChatClient.sendFile` does both). Answers what the server stored.
   */
  async uploadAttachment(chatId: string, file: Blob, options: UploadOptions): Promise<AttachmentInfo> {
    const url = `${this.attachmentsUrl(chatId)}?name=${encodeURIComponent(options.name)}`;
    const headers = { Authorization: `Bearer ${await this.getToken()}`, "Content-Type": options.contentType };
    let answer: { status: number; text: string };
    try {
      answer = await postFile(this.fetchFn, { url, headers, body: file, onProgress: options.onProgress });
    } catch (err) {
      throw networkError(err);
    }
    return answerOf<AttachmentInfo>(answer.status, answer.text);
  }

  /** A chat's file, or the part `range` of it, fetched with the token in the header. */
  async downloadAttachment(chatId: string, id: string, range?: ByteRange): Promise<Blob> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.getToken()}` };
    if (range) headers.Range = rangeHeader(range);
    const url = `${this.attachmentsUrl(chatId)}/${encodeURIComponent(id)}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, { headers });
    } catch (err) {
      throw networkError(err);
    }
    if (!res.ok) return answerOf<never>(res.status, await res.text());
    const blob = await res.blob();
    // A server or proxy that ignores Range answers the whole file: cut the part here.
    if (range && res.status === 200) {
      const end = range.length === undefined ? blob.size : range.offset + range.length;
      return blob.slice(range.offset, end, blob.type);
    }
    return blob;
  }

  private blockPath(userId: string): string {
    return `/v1/users/${encodeURIComponent(userId)}/block`;
  }

  private devicePushPath(deviceId: string): string {
    return `/v1/devices/${encodeURIComponent(deviceId)}/push`;
  }

  private attachmentsUrl(chatId: string): string {
    return `${this.baseUrl}/v1/chats/${encodeURIComponent(chatId)}/attachments`;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.getToken()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return call<T>(this.fetchFn, `${this.baseUrl}${path}`, { method, headers, body: jsonOf(body) });
  }
}

/** A token from the local development route (`DEV_AUTH`), for demos and tests. */
export async function devToken(baseUrl: string, userId: string, fetchFn: typeof fetch = fetch): Promise<string> {
  const body: z.input<typeof devTokenBody> = { userId };
  const res = await call<{ token: string }>(fetchFn, `${trimSlash(baseUrl)}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.token;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function jsonOf(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}

async function call<T>(fetchFn: typeof fetch, url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetchFn(url, init);
  } catch (err) {
    throw networkError(err);
  }
  return answerOf<T>(res.status, await res.text());
}

function networkError(err: unknown): ChatApiError {
  return new ChatApiError(0, "network", `request failed: ${err instanceof Error ? err.message : String(err)}`);
}

/** The JSON of a 2xx answer, or the `ChatApiError` of an error answer. */
function answerOf<T>(status: number, text: string): T {
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (status < 200 || status > 299) {
    const error = (data as Partial<ErrorBody> | null)?.error;
    throw new ChatApiError(status, error?.code ?? "internal", error?.message ?? `HTTP ${status}`);
  }
  return data as T;
}

/** The `Range` header of `range`; a range that is not whole non-negative numbers is refused here. */
function rangeHeader({ offset, length }: ByteRange): string {
  const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!whole(offset) || (length !== undefined && (!whole(length) || length === 0)))
    throw new ChatApiError(0, "bad_request", "a range is a whole offset and a length of at least 1");
  return length === undefined ? `bytes=${offset}-` : `bytes=${offset}-${offset + length - 1}`;
}
