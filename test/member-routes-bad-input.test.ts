/**
 * Bad input to the member, mute and presence routes: each gets a 400/404 JSON error and changes
 * nothing (no new seq in the chat's log, no change of role, no mute stored).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { UserObject } from "../objects/user/user-object";
import { api, json } from "./helpers/client";
import { createGroup, membersOf, messagesOf, users } from "./helpers/groups";

describe("member routes refuse bad input and change nothing", () => {
  it("POST members, PATCH role and DELETE member with malformed bodies or ids", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const before = await messagesOf(alice.token, chatId);
    const cases: [string, string, unknown, number][] = [
      ["POST", `/v1/chats/${chatId}/members`, "not json", 400],
      ["POST", `/v1/chats/${chatId}/members`, {}, 400],
      ["POST", `/v1/chats/${chatId}/members`, { userId: "has space" }, 400],
      ["POST", `/v1/chats/${chatId}/members`, { userId: "carol", role: "owner" }, 400],
      ["POST", `/v1/chats/${chatId}/members`, { userId: "carol", extra: 1 }, 400],
      ["PATCH", `/v1/chats/${chatId}/members/${bob.id}`, "not json", 400],
      ["PATCH", `/v1/chats/${chatId}/members/${bob.id}`, { role: "owner" }, 400],
      ["PATCH", `/v1/chats/${chatId}/members/${bob.id}`, {}, 400],
      ["PATCH", `/v1/chats/${chatId}/members/bad%20id`, { role: "admin" }, 404],
      ["DELETE", `/v1/chats/${chatId}/members/bad%20id`, undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await api(alice.token, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(await json(res)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(await messagesOf(alice.token, chatId)).toEqual(before);
    expect((await membersOf(alice.token, chatId)).find((m) => m.userId === bob.id)?.role).toBe("member");
  });

  it("presence of a malformed user id is 404 with an error body", async () => {
    const [alice] = await users("alice");
    const res = await api(alice.token, "GET", "/v1/users/bad%20id/presence");
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ error: { code: "not_found" } });
  });

  it("PUT mute with a malformed body or chat id stores no mute; a good one does", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await createGroup(alice, "team", [bob.id]);
    const mutes = () =>
      runInDurableObject(env.USER.get(env.USER.idFromName(bob.id)), (_: UserObject, state) =>
        state.storage.sql.exec("SELECT chat_id, until FROM mutes").toArray(),
      );
    const cases: [string, unknown, number][] = [
      [`/v1/chats/${chatId}/mute`, "not json", 400],
      [`/v1/chats/${chatId}/mute`, {}, 400],
      [`/v1/chats/${chatId}/mute`, { until: "tomorrow" }, 400],
      [`/v1/chats/${chatId}/mute`, { until: -1 }, 400],
      [`/v1/chats/${chatId}/mute`, { until: 1.5 }, 400],
      [`/v1/chats/${chatId}/mute`, { until: null, extra: 1 }, 400],
      ["/v1/chats/not-a-chat/mute", { until: null }, 404],
    ];
    for (const [path, body, status] of cases) {
      const res = await api(bob.token, "PUT", path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect(await json(res)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(await mutes()).toEqual([]);
    expect((await api(bob.token, "PUT", `/v1/chats/${chatId}/mute`, { until: null })).status).toBe(204);
    expect(await mutes()).toEqual([{ chat_id: chatId, until: null }]);
  });
});
