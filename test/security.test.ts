/**
 * No way in: the origin allowlist for browser upgrades, tokens on the upgrade (refused before any
 * object is touched), 1,000 random and neighbouring chat ids tried by non-members over every chat
 * route and chat frame (0 bytes of any chat returned), and presence of strangers refused.
 */
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { chatIdSchema } from "../protocol";
import { app } from "../worker/app";
import { api, connect, type TestSocket, user } from "./helpers/client";
import { intruderIds } from "./helpers/neighbour-ids";

type User = { id: string; token: string };
const BASE = "http://chat.test";
const ALLOWED = "https://app.example.com, https://admin.example.com";

/** An Env whose object namespaces record and refuse any use, to prove a request never reached them. */
function trappedEnv(vars: Record<string, string>, touched: string[]): Env {
  const trap = new Proxy(
    {},
    {
      get(_target, prop) {
        touched.push(String(prop));
        throw new Error(`object namespace touched (${String(prop)})`);
      },
    },
  );
  return { ...env, ...vars, USER: trap, CHAT: trap } as unknown as Env;
}

function upgradeRequest(headers: Record<string, string>, device = "web"): Request {
  return new Request(`${BASE}/v1/connect?device=${device}`, { headers: { Upgrade: "websocket", ...headers } });
}

async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe("origin allowlist (ALLOWED_ORIGINS)", () => {
  it("refuses an upgrade from an origin not exactly in the list with 403, before any object", async () => {
    const { token } = await user("web");
    const refused = [
      "https://app.example.com.evil.com",
      "https://evil.com",
      "http://app.example.com",
      "https://APP.example.com",
      "https://app.example.com/",
      "https://app.example.com:8443",
      "https://sub.app.example.com",
      "null",
      "",
    ];
    for (const origin of refused) {
      const touched: string[] = [];
      const res = await app.fetch(
        upgradeRequest({ Origin: origin, Authorization: `Bearer ${token}` }),
        trappedEnv({ ALLOWED_ORIGINS: ALLOWED }, touched),
      );
      expect(res.status, origin).toBe(403);
      expect(await res.json(), origin).toMatchObject({ error: { code: "forbidden" } });
      expect(touched, origin).toEqual([]);
    }
    // Checked before the token: a bad origin with no token is still 403.
    const noToken = await app.fetch(
      upgradeRequest({ Origin: "https://evil.com" }),
      trappedEnv({ ALLOWED_ORIGINS: ALLOWED }, []),
    );
    expect(noToken.status).toBe(403);
  });

  it("lets in listed origins, requests without Origin (native clients), and everything when unset", async () => {
    const { token } = await user("web");
    const auth = { Authorization: `Bearer ${token}` };
    const listed = { ...env, ALLOWED_ORIGINS: ALLOWED } as Env;
    const cases: [Env, Record<string, string>][] = [
      [listed, { ...auth, Origin: "https://app.example.com" }],
      [listed, { ...auth, Origin: "https://admin.example.com" }],
      [listed, auth],
      [env, { ...auth, Origin: "https://anywhere.example" }],
    ];
    for (const [i, [vars, headers]] of cases.entries()) {
      const res = await app.fetch(upgradeRequest(headers, `dev-${i}`), vars);
      expect(res.status, JSON.stringify(headers)).toBe(101);
      res.webSocket?.accept();
      res.webSocket?.close(1000, "done");
    }
    // Plain HTTP is not a browser upgrade: CORS, not this list, governs it.
    const list = await app.fetch(
      new Request(`${BASE}/v1/chats`, { headers: { ...auth, Origin: "https://evil.com" } }),
      listed,
    );
    expect(list.status).toBe(200);
  });
});

describe("tokens on the upgrade", () => {
  it("missing, malformed, expired, not yet valid, badly signed, alg none, other algorithm: 401 before any object", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sub = "victim";
    const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const cases: Record<string, string | null> = {
      missing: null,
      malformed: "not.a.jwt",
      "two parts": "abc.def",
      expired: await sign({ sub, exp: now - 60 }, env.JWT_SECRET, "HS256"),
      "not yet valid": await sign({ sub, exp: now + 3600, nbf: now + 600 }, env.JWT_SECRET, "HS256"),
      "bad signature": await sign({ sub, exp: now + 3600 }, "some-other-secret", "HS256"),
      "alg none": `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub, exp: now + 3600 })}.`,
      HS512: await sign({ sub, exp: now + 3600 }, env.JWT_SECRET, "HS512"),
      "no exp": await sign({ sub }, env.JWT_SECRET, "HS256"),
      "bad sub": await sign({ sub: "not a user id!", exp: now + 3600 }, env.JWT_SECRET, "HS256"),
    };
    for (const [name, token] of Object.entries(cases)) {
      for (const where of ["header", "query"] as const) {
        const touched: string[] = [];
        const headers: Record<string, string> = {};
        let url = `${BASE}/v1/connect?device=web`;
        if (token !== null && where === "header") headers.Authorization = `Bearer ${token}`;
        if (token !== null && where === "query") url += `&token=${encodeURIComponent(token)}`;
        const res = await app.fetch(
          new Request(url, { headers: { Upgrade: "websocket", ...headers } }),
          trappedEnv({}, touched),
        );
        expect(res.status, `${name} in ${where}`).toBe(401);
        expect(await res.json(), name).toMatchObject({ error: { code: "unauthorized" } });
        expect(touched, name).toEqual([]);
      }
    }
  });
});

type Leak = { where: string; what: string };

/** Every sensitive string an answer contains that its own request did not. */
function leaks(where: string, request: string, answer: string, sensitive: string[]): Leak[] {
  return sensitive.filter((s) => answer.includes(s) && !request.includes(s)).map((what) => ({ where, what }));
}

function routes(chatId: string, intruder: string, member: string): [string, string, unknown][] {
  const id = encodeURIComponent(chatId);
  return [
    ["GET", `/v1/chats/${id}`, undefined],
    ["GET", `/v1/chats/${id}/messages`, undefined],
    ["GET", `/v1/chats/${id}/messages?before=1000&limit=500`, undefined],
    ["POST", `/v1/chats/${id}/messages`, { clientMsgId: `x-${chatId.length}`, body: "let me in" }],
    ["GET", `/v1/chats/${id}/messages/1/receipts`, undefined],
    ["POST", `/v1/chats/${id}/members`, { userId: intruder }],
    ["PATCH", `/v1/chats/${id}/members/${intruder}`, { role: "admin" }],
    ["DELETE", `/v1/chats/${id}/members/${member}`, undefined],
  ];
}

function frames(chatId: string): Record<string, unknown>[] {
  return [
    { type: "send", chatId, clientMsgId: "let-me-in", body: "let me in" },
    { type: "history", chatId, after: 0, limit: 500 },
    { type: "history", chatId, before: 1000 },
    { type: "received", chatId, seq: 1 },
    { type: "read", chatId, seq: 1 },
    { type: "typing", chatId, on: true },
  ];
}

/** The `error.code` of an answer's body; undefined when it is not a JSON error. */
function errorCodeOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

async function logOf(token: string, chatId: string): Promise<string> {
  return (await api(token, "GET", `/v1/chats/${encodeURIComponent(chatId)}/messages?limit=500`)).text();
}

describe("1,000 chat ids tried by non-members", () => {
  it("over every chat route and every chat frame: 0 bytes of any chat, nothing changed, no pushes", async () => {
    const [alice, bob, carol, dave, mallory, trudy] = await Promise.all([
      user("alice"),
      user("bob"),
      user("carol"),
      user("dave"),
      user("mallory"),
      user("trudy"),
    ]);
    const secrets = [`secret-${crypto.randomUUID()}`, `secret-${crypto.randomUUID()}`, `secret-${crypto.randomUUID()}`];
    const direct = async (a: User, b: User) =>
      ((await (await api(a.token, "POST", "/v1/chats", { type: "direct", with: b.id })).json()) as { chatId: string })
        .chatId;
    const ab = await direct(alice, bob);
    const cd = await direct(carol, dave);
    const groupRes = await api(alice.token, "POST", "/v1/chats", {
      type: "group",
      title: secrets[2],
      members: [bob.id, carol.id],
    });
    expect(groupRes.status).toBe(201);
    const group = ((await groupRes.json()) as { chatId: string }).chatId;
    const a = (await connect(alice.token, "phone")).socket;
    const c = (await connect(carol.token, "phone")).socket;
    for (const [chatId, body, s] of [
      [ab, secrets[0], a],
      [cd, secrets[1], c],
      [group, secrets[2], a],
    ] as const) {
      expect(await s.request({ type: "send", chatId, clientMsgId: `s-${chatId}`, body })).toMatchObject({
        type: "ack",
      });
    }
    const real = [ab, cd, group];
    const before = await Promise.all(real.map((id) => logOf(id === cd ? carol.token : alice.token, id)));
    const pushesBefore = a.frames.length + c.frames.length;

    const seed = Date.now();
    const ids = intruderIds(real, [alice.id, bob.id, carol.id, dave.id], [mallory.id, trudy.id], seed, 1000);
    expect(ids).toHaveLength(1000);
    const sensitive = [...secrets, alice.id, bob.id, carol.id, dave.id];
    const found: Leak[] = [];
    // A well-formed id must reach the membership check (403 / `forbidden`); any other answer,
    // a 429 of the send limit included, means the probe was stopped before it was tested.
    const wellFormed = (id: string) => chatIdSchema.safeParse(id).success;
    const probed = ids.filter(wellFormed).length;
    expect(probed, "well-formed probes").toBeGreaterThan(100);
    const statuses: Record<number, number> = {};

    // Mallory over HTTP and Trudy over her socket (pipelined), at the same time.
    const requests = ids.flatMap((id) => routes(id, mallory.id, alice.id).map((r) => [id, ...r] as const));
    const overHttp = runLimited(requests, 96, async ([id, method, path, body]) => {
      const res = await api(mallory.token, method, path, body);
      const text = await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const expected = wellFormed(id) ? [403, "forbidden"] : [404, "not_found"];
      const got = [res.status, errorCodeOf(text)];
      if (got.join() !== expected.join()) found.push({ where: `${method} ${path}`, what: `answered ${got}` });
      found.push(...leaks(`${method} ${path}`, `${path} ${JSON.stringify(body)}`, text, sensitive));
    });
    const t: TestSocket = (await connect(trudy.token, "phone")).socket;
    const sent = ids.flatMap((chatId, i) => frames(chatId).map((frame, j) => ({ ...frame, chatId, id: `q${i}-${j}` })));
    for (const frame of sent) t.send(frame);
    const replies = await t.collect((f) => typeof f.id === "string" && f.id.startsWith("q"), sent.length, 90_000);
    await overHttp;
    const perId = requests.length / ids.length;
    expect(statuses, `seed ${seed}`).toEqual({ 403: probed * perId, 404: (ids.length - probed) * perId });

    // One error per frame, `forbidden` for every well-formed id, none carrying chat data.
    const byId = new Map(sent.map((f) => [f.id, f]));
    const codes: Record<string, number> = {};
    for (const r of replies) {
      const frame = byId.get(r.id as string);
      const expected = frame && wellFormed(frame.chatId) ? "forbidden" : "bad_request";
      codes[`${r.type} ${r.code}`] = (codes[`${r.type} ${r.code}`] ?? 0) + 1;
      if (r.type !== "error" || r.code !== expected) found.push({ where: `frame ${r.id}`, what: `answered ${r.code}` });
      found.push(...leaks(`frame ${r.id}`, JSON.stringify(frame), JSON.stringify(r), sensitive));
    }
    const perFrameId = sent.length / ids.length;
    expect(codes, `seed ${seed}`).toEqual({
      "error forbidden": probed * perFrameId,
      "error bad_request": (ids.length - probed) * perFrameId,
    });
    for (const f of t.frames) if (f.type !== "error") found.push(...leaks("push", "", JSON.stringify(f), sensitive));
    expect(found, `seed ${seed}`).toEqual([]);
    expect(t.frames.filter((f) => ["message", "history", "ack", "typing", "receipt"].includes(f.type))).toEqual([]);

    // Nothing changed, nothing was pushed to the members, and the intruders have no chats.
    expect(await Promise.all(real.map((id) => logOf(id === cd ? carol.token : alice.token, id)))).toEqual(before);
    const groupView = (await (await api(alice.token, "GET", `/v1/chats/${group}`)).json()) as {
      members: { userId: string }[];
    };
    expect(groupView.members.map((m) => m.userId).sort()).toEqual([alice.id, bob.id, carol.id].sort());
    expect(a.frames.length + c.frames.length).toBe(pushesBefore);
    for (const intruder of [mallory, trudy]) {
      expect(await (await api(intruder.token, "GET", "/v1/chats")).json()).toEqual({ chats: [] });
    }
    for (const s of [a, c, t]) s.close();
  }, 180_000);

  it("a real chat and a chat that never existed answer an outsider byte for byte the same", async () => {
    const [alice, bob, mallory] = await Promise.all([user("alice"), user("bob"), user("mallory")]);
    await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id });
    const { socket } = await connect(alice.token, "phone");
    const ab = [alice.id, bob.id].sort();
    const real = `d~${ab[0]}~${ab[1]}`;
    await socket.request({ type: "send", chatId: real, clientMsgId: "m1", body: "hi" });
    const ghost = `d~${ab[0]}~zz-${bob.id}`;
    // The same request against either id (the id itself swapped in only at the last moment).
    const ask = async (chatId: string) => {
      const out: string[] = [];
      for (const [method, path, body] of routes(chatId, mallory.id, alice.id)) {
        const res = await api(mallory.token, method, path, body);
        out.push(`${method} ${res.status} ${(await res.text()).replaceAll(chatId, "CHAT")}`);
      }
      return out;
    };
    expect(await ask(real)).toEqual(await ask(ghost));
    socket.close();
  });
});

describe("presence of strangers", () => {
  it("is refused over HTTP and over watch, the same for a real user and a made-up one", async () => {
    const [alice, bob, stranger] = await Promise.all([user("alice"), user("bob"), user("stranger")]);
    await api(alice.token, "POST", "/v1/chats", { type: "direct", with: bob.id });
    const a = (await connect(alice.token, "phone")).socket;

    const ask = async (target: string) => {
      const res = await api(stranger.token, "GET", `/v1/users/${target}/presence`);
      return { status: res.status, text: (await res.text()).replaceAll(target, "USER") };
    };
    const real = await ask(alice.id);
    expect([403, 404]).toContain(real.status);
    expect(real.text).not.toMatch(/lastSeen|online/);
    expect(await ask(`nobody-${alice.id}`)).toEqual(real);

    const s = (await connect(stranger.token, "phone")).socket;
    const refusal = await s.request({ type: "watch", userIds: [alice.id, bob.id] });
    expect(refusal).toMatchObject({ type: "error", code: "forbidden" });
    await s.request({ type: "ping" });
    expect(s.frames.filter((f) => f.type === "presence")).toEqual([]);

    // The contrast that makes the test able to fail: a chat partner does see Alice.
    const b = (await connect(bob.token, "phone")).socket;
    b.send({ type: "watch", userIds: [alice.id] });
    expect(await b.next("presence")).toMatchObject({ type: "presence", userId: alice.id, online: true });
    for (const x of [a, b, s]) x.close();
  });
});
