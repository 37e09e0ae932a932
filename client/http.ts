/**
 * Thin typed helpers for the HTTP routes of protocol v1. Every call asks `getToken` for the
 * token it sends; errors answer a `ChatApiError` carrying the server's code and message.
 */
import type { z } from "zod";
import type { ErrorBody, ErrorCode } from "../protocol/errors";
import type {
  addMemberBody,
  ChatDetails,
  ChatSummary,
  createChatBody,
  devTokenBody,
  HistoryPage,
  HistoryQuery,
  MessageReceipts,
  Presence,
  Role,
  setRoleBody,
} from "../protocol/http";

export type { ChatDetails, ChatSummary, HistoryPage, HistoryQuery, Presence } from "../protocol/http";
/** Message info: who holds and who has read one message. */
export type Receipts = MessageReceipts;

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

  /** Creates a group; the caller becomes a member and its admin. */
  async createGroup(title: string, members: string[]): Promise<string> {
    const body: z.input<typeof createChatBody> = { type: "group", title, members };
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
    throw new ChatApiError(0, "network", `request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    const error = (data as Partial<ErrorBody> | null)?.error;
    throw new ChatApiError(res.status, error?.code ?? "internal", error?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}
