/**
 * A VAPID key rotation under way (project `workers-operations`: `VAPID_PRIVATE_KEY` is a new
 * key, `VAPID_PRIVATE_KEY_PREVIOUS` dev.env's). The push service here binds each subscription
 * to the public key it was made with, as real ones do, and refuses (403) a push whose VAPID
 * `k=` is another. A subscription made before the rotation keeps getting its pushes; one made
 * with the key now served gets them signed with it; the route serves the current key.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadVapidKey } from "../objects/push/vapid";
import { api, forgeToken, json, openDirect, unique } from "./helpers/client";
import { fanoutSettled } from "./helpers/groups";
import { decryptPush, newSubscriber, type Subscriber, verifyVapid } from "./helpers/push-service";

const namespaces: Record<"CHAT" | "USER", DurableObjectNamespace> = env;
const userObject = (id: string) => namespaces.USER.get(namespaces.USER.idFromName(id));
const chatObject = (id: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(id));

interface Attempt {
  url: string;
  key: string;
  status: number;
  body: Uint8Array;
}

/** Endpoint → the VAPID public key its subscription was made with. */
const boundKey = new Map<string, string>();
let attempts: Attempt[] = [];
const realFetch = globalThis.fetch;

beforeEach(() => {
  attempts = [];
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith("https://push.test/")) return realFetch(input, init);
    const vapid = await verifyVapid(req.headers.get("Authorization"), req.url);
    const status = vapid.publicKey === boundKey.get(req.url) ? 201 : 403;
    attempts.push({ url: req.url, key: vapid.publicKey, status, body: new Uint8Array(await req.arrayBuffer()) });
    return new Response(null, { status });
  };
});

afterEach(() => {
  globalThis.fetch = realFetch;
});

async function userWithToken(prefix: string): Promise<{ id: string; token: string }> {
  const id = unique(prefix);
  return { id, token: await forgeToken({ sub: id, exp: Math.floor(Date.now() / 1000) + 600 }) };
}

async function sendDuePushes(userId: string): Promise<void> {
  await runInDurableObject(userObject(userId), (_i, state) => {
    state.storage.sql.exec("UPDATE push_pending SET due_at = 0 WHERE payload IS NOT NULL");
  });
  await runDurableObjectAlarm(userObject(userId));
}

describe("VAPID key rotation", () => {
  it("a subscription made with the previous key keeps getting pushes; a new one is signed with the current key", async () => {
    const current = await loadVapidKey(env.VAPID_PRIVATE_KEY, env.VAPID_SUBJECT);
    const previous = await loadVapidKey((env as Env).VAPID_PRIVATE_KEY_PREVIOUS, env.VAPID_SUBJECT);
    if (!current || !previous) throw new Error("test keys not configured");
    const [alice, bob] = [await userWithToken("alice"), await userWithToken("bob")];
    const served = await json<{ publicKey: string }>(await api(bob.token, "GET", "/v1/push/key"));
    expect(served.publicKey).toBe(current.publicKey);
    expect(served.publicKey).not.toBe(previous.publicKey);

    const subs: Record<"old" | "fresh", Subscriber> = { old: await newSubscriber(), fresh: await newSubscriber() };
    const endpoint = (device: string) => `https://push.test/${bob.id}/${device}`;
    boundKey.set(endpoint("old"), previous.publicKey);
    boundKey.set(endpoint("fresh"), current.publicKey);
    for (const device of ["old", "fresh"] as const) {
      const res = await api(bob.token, "PUT", `/v1/devices/${device}/push`, {
        endpoint: endpoint(device),
        keys: subs[device].keys,
      });
      expect(res.status).toBe(204);
    }

    const chatId = await openDirect(alice, bob);
    const sendText = async (body: string) => {
      const res = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, { clientMsgId: unique("m"), body });
      expect(res.status).toBe(200);
      expect(await fanoutSettled(chatId)).toEqual([]);
      await runDurableObjectAlarm(chatObject(chatId));
    };

    await sendText("first");
    await sendDuePushes(bob.id);
    const tried = (device: string) => attempts.filter((a) => a.url === endpoint(device)).map((a) => [a.key, a.status]);
    // The old subscription: refused with the current key, taken with the previous one.
    expect(tried("old")).toEqual([
      [current.publicKey, 403],
      [previous.publicKey, 201],
    ]);
    expect(tried("fresh")).toEqual([[current.publicKey, 201]]);
    const delivered = attempts.find((a) => a.url === endpoint("old") && a.status === 201);
    if (!delivered) throw new Error("no push delivered to the old subscription");
    expect(JSON.parse((await decryptPush(subs.old, delivered.body)).text)).toMatchObject({ body: "first" });
    expect(
      await runInDurableObject(
        userObject(bob.id),
        (_i, state) => state.storage.sql.exec("SELECT device_id FROM push_subscriptions").toArray().length,
      ),
    ).toBe(2);

    // The endpoint's key is remembered: the next push goes with the previous key at once.
    attempts = [];
    await sendText("second");
    await sendDuePushes(bob.id);
    expect(tried("old")).toEqual([[previous.publicKey, 201]]);
    expect(tried("fresh")).toEqual([[current.publicKey, 201]]);
  });
});
