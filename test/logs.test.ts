/**
 * Structured logs: every line the Worker and the objects write is one JSON object with `level`,
 * `event` and `ts`; requests carry an `X-Request-Id` that their lines (and an upgrade's socket
 * lines) repeat; refusals, failed pushes and errors have their own lines; and no line holds a
 * message body, a token, a push key or endpoint path, a file name or a chat title.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { errorFields } from "../objects/log-event";
import type { UserObject } from "../objects/user/user-object";
import { rateLimited } from "../worker/edge-limits";
import type { AppEnv } from "../worker/http";
import { requestLog } from "../worker/request-log";
import { streamToBucket } from "../worker/routes/attachment-upload";
import { api, connect, openDirect, TestSocket, unique, upgrade } from "./helpers/client";
import { createGroup, fanoutSettled, users } from "./helpers/groups";
import { pngBytes } from "./helpers/png";
import { newSubscriber } from "./helpers/push-service";

const ORIGIN = "http://chat.test";
const namespaces: Record<"CHAT" | "USER", DurableObjectNamespace> = env;
const userObject = (id: string) => namespaces.USER.get(namespaces.USER.idFromName(id)) as DurableObjectStub<UserObject>;
const chatObject = (id: string) => namespaces.CHAT.get(namespaces.CHAT.idFromName(id));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Line = Record<string, unknown> & { level: string; event: string; ts: string };

/** Every console call while a test runs, each argument as text. */
let calls: string[][] = [];
let pushAnswer = 500;
const realFetch = globalThis.fetch;

function show(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}\n${arg.stack ?? ""}`;
  return JSON.stringify(arg) ?? String(arg);
}

beforeEach(() => {
  calls = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      calls.push(args.map(show));
    });
  }
  pushAnswer = 500;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith("https://push.test/")) return realFetch(input, init);
    return new Response(null, { status: pushAnswer });
  };
});

afterEach(() => {
  vi.restoreAllMocks();
  globalThis.fetch = realFetch;
});

/** The captured lines, each checked: one argument, a JSON object with a level, an event and a time. */
function lines(): Line[] {
  return calls.map((args) => {
    expect(args, "one argument per console call").toHaveLength(1);
    const line = JSON.parse(args[0] as string) as Line;
    expect(line).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), event: expect.any(String) });
    expect(new Date(line.ts).toISOString()).toBe(line.ts);
    return line;
  });
}

function find(event: string, fields: Record<string, unknown> = {}): Line | undefined {
  return lines().find((l) => l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v));
}

/** Waits for a line written after the awaited call returned (socket closes, deferred work). */
function awaitLine(event: string, fields: Record<string, unknown> = {}): Promise<Line> {
  return vi.waitFor(
    () => {
      const line = find(event, fields);
      if (!line) throw new Error(`no ${event} line with ${JSON.stringify(fields)}`);
      return line;
    },
    { timeout: 5_000, interval: 10 },
  );
}

/** Spends the user's whole send bucket, as a burst of sends would. */
async function drainSendBucket(userId: string): Promise<void> {
  await runInDurableObject(userObject(userId), (instance: UserObject) => {
    while (instance.allowSend()) {
      // Each call takes a token.
    }
  });
}

describe("request lines and X-Request-Id", () => {
  it("a request gets a generated id, answered as X-Request-Id and on its line with route, status and duration", async () => {
    const res = await exports.default.fetch(`${ORIGIN}/health`, { headers: { "X-Request-Id": "chosen-by-client" } });
    const id = res.headers.get("X-Request-Id");
    expect(id).toMatch(UUID);
    const line = find("request", { requestId: id });
    expect(line).toMatchObject({ level: "info", method: "GET", route: "/health", status: 200, source: "Worker" });
    expect(line?.durationMs).toEqual(expect.any(Number));
    expect(line).not.toHaveProperty("userId");
  });

  it("cf-ray is the id when present; 404s and preflights carry one too; the route is the pattern, with the user", async () => {
    const ray = "8f1b2c3d4e5f6a7b-AMS";
    const health = await exports.default.fetch(`${ORIGIN}/health`, { headers: { "cf-ray": ray } });
    expect(health.headers.get("X-Request-Id")).toBe(ray);
    expect(find("request", { requestId: ray })).toBeDefined();

    const missing = await api(null, "GET", "/no/such/route");
    expect(missing.status).toBe(404);
    const missingId = missing.headers.get("X-Request-Id");
    expect(missingId).toMatch(UUID);
    expect(find("request", { requestId: missingId })).toMatchObject({ status: 404, route: null });

    const preflight = await exports.default.fetch(`${ORIGIN}/v1/chats`, {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
    });
    const preflightId = preflight.headers.get("X-Request-Id");
    expect(preflightId).toMatch(UUID);
    expect(find("request", { requestId: preflightId })).toMatchObject({ method: "OPTIONS", status: preflight.status });

    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const page = await api(alice.token, "GET", `/v1/chats/${chatId}/messages`);
    expect(page.status).toBe(200);
    expect(find("request", { requestId: page.headers.get("X-Request-Id") })).toMatchObject({
      route: "/v1/chats/:chatId/messages",
      status: 200,
      userId: alice.id,
    });
    // The path with its ids is never on a line.
    expect(calls.flat().some((l) => l.includes(chatId))).toBe(false);
  });

  it("an auth failure has its line with a reason and the request id, never the token", async () => {
    const marker = unique("tokenmarker");
    const res = await api(`${marker}.${marker}.${marker}`, "GET", "/v1/chats");
    expect(res.status).toBe(401);
    const id = res.headers.get("X-Request-Id");
    expect(find("auth_failed", { requestId: id })).toMatchObject({ level: "warn", reason: "malformed token" });
    expect(find("request", { requestId: id })).toMatchObject({ status: 401, route: "/v1/chats" });
    expect(calls.flat().some((l) => l.includes(marker))).toBe(false);
  });
});

describe("socket lines", () => {
  it("the upgrade's request id is on the socket's open and close lines, with device, close code and duration", async () => {
    const [alice] = await users("alice");
    const res = await upgrade("/v1/connect?device=tablet", { Authorization: `Bearer ${alice.token}` });
    expect(res.status).toBe(101);
    const requestId = res.headers.get("X-Request-Id");
    expect(requestId).toMatch(UUID);
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const socket = new TestSocket(ws);
    await socket.next("ready");
    expect(find("socket_open", { requestId })).toMatchObject({
      level: "info",
      source: "UserObject",
      userId: alice.id,
      deviceId: "tablet",
    });
    expect(find("request", { requestId })).toMatchObject({ route: "/v1/connect", status: 101, userId: alice.id });
    ws.close(4321, "bye");
    const closed = await awaitLine("socket_close", { requestId });
    expect(closed).toMatchObject({ userId: alice.id, deviceId: "tablet", closeCode: 4321 });
    expect(closed.durationMs).toEqual(expect.any(Number));
  });

  it("a refused send logs rate_limited once per run, and a flood its close", async () => {
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    await drainSendBucket(alice.id);
    const refused = await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: "over the limit" });
    expect(refused).toMatchObject({ type: "error", code: "rate_limited" });
    const open = find("socket_open", { userId: alice.id, deviceId: "phone" });
    expect(find("rate_limited", { userId: alice.id })).toMatchObject({
      level: "warn",
      deviceId: "phone",
      requestId: open?.requestId,
    });

    // Past FLOOD_CLOSE_AFTER (1,000) refusals, with room for the few sends the bucket refills meanwhile.
    for (let i = 0; i < 1_200; i++) socket.send({ type: "send", chatId, clientMsgId: `f-${i}`, body: "flood" });
    expect((await socket.waitClosed(10_000)).code).toBe(1008);
    expect(find("flood_closed", { userId: alice.id })).toMatchObject({ closeCode: 1008, requestId: open?.requestId });
    for (const event of ["rate_limited", "flood_closed"]) {
      expect(lines().filter((l) => l.event === event && l.userId === alice.id)).toHaveLength(1);
    }
  });
});

describe("edge refusals", () => {
  it("a refusal by an edge limit has its rate_limited line with the request id", async () => {
    const app = new Hono<AppEnv>().use(requestLog).get("/", (c) => rateLimited(c, "too many attempts"));
    const res = await app.request("/", {}, env);
    expect(res.status).toBe(429);
    const requestId = res.headers.get("X-Request-Id");
    expect(find("rate_limited", { requestId })).toMatchObject({ source: "Worker", reason: "too many attempts" });
    expect(find("request", { requestId })).toMatchObject({ status: 429, route: "/" });
  });
});

describe("failed uploads", () => {
  it("an upload R2 refuses logs its request id and the error's name, not its message or the key", async () => {
    const marker = unique("uploadmarker");
    const bucket = {
      put: async (_key: string, body: ReadableStream) => {
        await new Response(body).arrayBuffer();
        throw new Error(`could not store chats/${marker}`);
      },
    } as unknown as R2Bucket;
    const png = pngBytes(64);
    const body = new Response(png).body as ReadableStream<Uint8Array>;
    const result = await streamToBucket(bucket, `chats/${marker}`, body, png.byteLength, "image/png", "req-upload");
    expect(result).toMatchObject({ ok: false, code: "internal" });
    expect(find("unexpected_error", { requestId: "req-upload" })).toMatchObject({
      level: "error",
      during: "attachment upload",
      error: "Error",
    });
    expect(calls.flat().some((l) => l.includes(marker))).toBe(false);
  });
});

describe("failed pushes", () => {
  it("a push service answering 500 and then 404: push_failed and push_gone, with the endpoint's origin only", async () => {
    const [alice, bob] = await users("alice", "bob");
    const path = unique("endpointmarker");
    const sub = await newSubscriber();
    const put = await api(bob.token, "PUT", "/v1/devices/phone/push", {
      endpoint: `https://push.test/${path}`,
      keys: sub.keys,
    });
    expect(put.status).toBe(204);
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: "hello" });
    expect(await fanoutSettled(chatId)).toEqual([]);
    await runDurableObjectAlarm(chatObject(chatId));
    const sendDue = async () => {
      await runInDurableObject(userObject(bob.id), (_i, state) => {
        state.storage.sql.exec("UPDATE push_pending SET due_at = 0 WHERE payload IS NOT NULL");
      });
      await runDurableObjectAlarm(userObject(bob.id));
    };
    await sendDue();
    expect(find("push_failed", { chatId })).toMatchObject({
      level: "warn",
      deviceId: "phone",
      pushOrigin: "https://push.test",
      reason: "HTTP 500",
      retryInMs: expect.any(Number),
    });
    pushAnswer = 404;
    await sendDue();
    expect(find("push_gone", { chatId })).toMatchObject({ pushOrigin: "https://push.test", reason: "HTTP 404" });
    const text = calls.flat();
    for (const secret of [path, sub.keys.p256dh, sub.keys.auth])
      expect(text.some((l) => l.includes(secret))).toBe(false);
    socket.close();
  });
});

describe("no content in any line", () => {
  it("bodies, tokens, push keys and endpoints, file names and chat titles never reach a line", async () => {
    const marker = unique("secretmarker");
    const [alice, bob] = await users("alice", "bob");
    const chatId = await openDirect(alice, bob);
    const { socket } = await connect(alice.token, "phone");
    const b = (await connect(bob.token, "laptop")).socket;

    await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: `body ${marker}` });
    await b.next((f) => f.type === "message");
    const http = await api(alice.token, "POST", `/v1/chats/${chatId}/messages`, {
      clientMsgId: unique("m"),
      body: `http body ${marker}`,
    });
    expect(http.status).toBe(200);
    // A frame that fails validation echoes nothing of its body into the logs either.
    await socket.request({ type: "send", chatId, clientMsgId: unique("m"), body: 7, note: marker });

    const groupId = await createGroup(alice, `title ${marker}`, [bob.id]);
    expect(groupId).toBeTruthy();
    const png = pngBytes(64);
    const upload = await exports.default.fetch(
      `${ORIGIN}/v1/chats/${chatId}/attachments?name=${encodeURIComponent(`${marker}.png`)}`,
      { method: "POST", headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "image/png" }, body: png },
    );
    expect(upload.status).toBe(201);

    const sub = await newSubscriber();
    await api(bob.token, "PUT", "/v1/devices/tablet/push", {
      endpoint: `https://push.test/${marker}`,
      keys: sub.keys,
    });
    const badToken = await upgrade(`/v1/connect?device=d1&token=${marker}`);
    expect(badToken.status).toBe(401);
    const badBearer = await api(`${marker}`, "GET", "/v1/chats");
    expect(badBearer.status).toBe(401);
    socket.close();
    b.close();
    await awaitLine("socket_close", { userId: bob.id });

    const text = calls.flat();
    expect(text.length).toBeGreaterThan(10);
    for (const secret of [marker, alice.token, bob.token, sub.keys.p256dh, sub.keys.auth]) {
      expect(text.filter((l) => l.includes(secret))).toEqual([]);
    }
    expect(lines().filter((l) => l.event === "auth_failed")).toHaveLength(2);
  });

  it("an error is logged by name and stack frames: its message, which may quote input, is not", () => {
    const marker = unique("errormarker");
    const err = new TypeError(`bad value "${marker}"\n    at ${marker} (evil.js:1:1)`);
    const fields = errorFields(err);
    expect(fields.error).toBe("TypeError");
    expect(fields.stack?.length).toBeGreaterThan(0);
    for (const frame of fields.stack ?? []) expect(frame).toMatch(/^at /);
    expect(JSON.stringify(fields)).not.toContain(marker);
    expect(errorFields("a thrown string")).toEqual({ error: "string" });
  });
});
