/**
 * Group-chat helpers on top of `client.ts`: creating a group over HTTP, reading its system
 * messages, and polling for a state reached asynchronously (fan-out, receipts).
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { type Message, type SystemEvent, systemEventOf } from "../../protocol";
import { fanoutFailures } from "./chat-internals";
import { api, history, json, user } from "./client";

export type User = { id: string; token: string };

/** One fresh user (with a token) per prefix, as a tuple. */
export function users<const P extends readonly string[]>(...prefixes: P): Promise<{ [K in keyof P]: User }> {
  return Promise.all(prefixes.map((p) => user(p))) as Promise<{ [K in keyof P]: User }>;
}

/** Creates a group over HTTP as `owner`; throws unless the answer is 201. */
export async function createGroup(owner: { token: string }, title: string, members: string[]): Promise<string> {
  const res = await api(owner.token, "POST", "/v1/chats", { type: "group", title, members });
  if (res.status !== 201) throw new Error(`create group: ${res.status} ${await res.text()}`);
  return (await json<{ chatId: string }>(res)).chatId;
}

/** The event a system message carries; throws for a text message or an unknown body. */
export function eventOf(m: Pick<Message, "kind" | "body">): SystemEvent {
  const event = systemEventOf(m);
  if (!event) throw new Error(`not a system message: ${m.kind} ${m.body}`);
  return event;
}

/** The chat's messages as `token` reads them over HTTP (up to 500), asserting access. */
export async function messagesOf(token: string, chatId: string): Promise<Message[]> {
  const page = await history(token, chatId, "after=0&limit=500");
  if (page.status !== 200) throw new Error(`history: ${page.status} ${page.text}`);
  return page.messages;
}

/** The members of the chat as `token` sees them, sorted by user id. */
export async function membersOf(token: string, chatId: string): Promise<{ userId: string; role: string }[]> {
  const res = await api(token, "GET", `/v1/chats/${chatId}`);
  if (res.status !== 200) throw new Error(`describe: ${res.status} ${await res.text()}`);
  const { members } = await json<{ members: { userId: string; role: string }[] }>(res);
  return members.sort((a, b) => (a.userId < b.userId ? -1 : 1));
}

/** A user's chats, read from its user object over RPC (no token needed). */
export function chatsOf(userId: string) {
  return env.USER.get(env.USER.idFromName(userId)).listChats(userId);
}

export function chatStub(chatId: string) {
  return env.CHAT.get(env.CHAT.idFromName(chatId));
}

/**
 * Waits, inside the chat object, until its fan-out has attempted every message stored so far;
 * answers the members whose delivery failed (empty when every member has everything).
 */
export function fanoutSettled(chatId: string): Promise<string[]> {
  return fanoutFailures(chatStub(chatId));
}

/** Calls `probe` every 20 ms until `done` accepts its answer; throws after `timeoutMs`. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not reached within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; answers the results in order. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/** Asserts an HTTP error answer: its status and `{error:{code,message}}`. */
export async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

/** The system message at `seq`, parsed, as `reader` reads it over HTTP. */
export async function systemAt(reader: User, chatId: string, seq: number) {
  const m = (await messagesOf(reader.token, chatId)).find((x) => x.seq === seq);
  if (!m) throw new Error(`no message ${seq}`);
  return { ...m, event: eventOf(m) };
}

/** Member routes of a group, as `by`. */
export const addMember = (by: User, chatId: string, userId: string, role?: string) =>
  api(by.token, "POST", `/v1/chats/${chatId}/members`, role ? { userId, role } : { userId });
export const setRole = (by: User, chatId: string, userId: string, role: string) =>
  api(by.token, "PATCH", `/v1/chats/${chatId}/members/${userId}`, { role });
export const removeMember = (by: User, chatId: string, userId: string) =>
  api(by.token, "DELETE", `/v1/chats/${chatId}/members/${userId}`);
