/**
 * The real server's log lines (captured by the global setup into `serverLog`): every JSON line
 * has a level, an event and a time; a request's X-Request-Id names its request line and, for an
 * upgrade, the socket's open and close lines; and no line holds a message body, a token, a push
 * key or endpoint path, a file name or a chat title, whatever else the e2e run logged meanwhile.
 */
import { readFileSync } from "node:fs";
import { expect, inject, it } from "vitest";
import WsSocket from "ws";
import { pngBytes } from "../helpers/png";

const base = inject("baseUrl");
const serverLog = inject("serverLog");
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Line = Record<string, unknown> & { level: string; event: string; ts: string };

/**
 * The server's JSON lines so far. `wrangler dev` prints console.warn and console.error lines
 * behind a coloured `▲ [WARNING]` or `✘ [ERROR]`, which is taken off; its own lines (no JSON
 * object) are left out.
 */
function jsonLines(): { raw: string[]; lines: Line[] } {
  const raw = readFileSync(serverLog, "utf8").split("\n");
  const lines: Line[] = [];
  for (const text of raw) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC.
    const plain = text.replace(/\x1b\[[0-9;]*m/g, "").trim();
    const json = /^(?:▲ \[WARNING\] |✘ \[ERROR\] )?(\{.*)$/.exec(plain)?.[1];
    if (json) lines.push(JSON.parse(json) as Line);
  }
  return { raw, lines };
}

/** Waits for the line the server writes once it is done with a request or a close. */
async function lineWhere(match: (l: Line) => boolean, timeoutMs = 10_000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = jsonLines().lines.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error("no such line in the server's log");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function token(userId: string): Promise<string> {
  const res = await fetch(`${base}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  return ((await res.json()) as { token: string }).token;
}

function api(bearer: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Opens a socket and waits for `ready`; answers it with the upgrade's X-Request-Id. */
async function connect(bearer: string, device: string): Promise<{ ws: WsSocket; requestId: string }> {
  const ws = new WsSocket(`${base.replace(/^http/, "ws")}/v1/connect?device=${device}`, {
    headers: { Authorization: `Bearer ${bearer}` },
  });
  const requestId = await new Promise<string>((resolve, reject) => {
    ws.once("upgrade", (res) => resolve(String(res.headers["x-request-id"])));
    ws.once("error", reject);
  });
  await new Promise<void>((resolve) => {
    ws.on("message", (d) => {
      if ((JSON.parse(String(d)) as { type: string }).type === "ready") resolve();
    });
  });
  return { ws, requestId };
}

function frame(ws: WsSocket, match: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    ws.on("message", (d) => {
      const f = JSON.parse(String(d)) as Record<string, unknown>;
      if (match(f)) resolve(f);
    });
  });
}

it("the server's lines are JSON with their fields, carry the request ids, and no content", async () => {
  const marker = `logmarker${run}`;
  const alice = `log-alice-${run}`;
  const bob = `log-bob-${run}`;
  const [aliceToken, bobToken] = await Promise.all([token(alice), token(bob)]);

  const health = await fetch(`${base}/health`);
  const healthId = health.headers.get("X-Request-Id");
  expect(healthId).toMatch(UUID);
  expect(await lineWhere((l) => l.event === "request" && l.requestId === healthId)).toMatchObject({
    level: "info",
    method: "GET",
    route: "/health",
    status: 200,
  });

  const opened = await api(aliceToken, "POST", "/v1/chats", { type: "direct", with: bob });
  const { chatId } = (await opened.json()) as { chatId: string };
  const { ws, requestId } = await connect(aliceToken, "laptop");
  expect(requestId).toMatch(UUID);
  expect(await lineWhere((l) => l.event === "socket_open" && l.requestId === requestId)).toMatchObject({
    userId: alice,
    deviceId: "laptop",
  });

  const ack = frame(ws, (f) => f.type === "ack");
  ws.send(JSON.stringify({ type: "send", chatId, clientMsgId: `m-${run}`, body: `body ${marker}` }));
  expect(await ack).toMatchObject({ type: "ack" });
  const viaHttp = await api(aliceToken, "POST", `/v1/chats/${chatId}/messages`, {
    clientMsgId: `h-${run}`,
    body: `http body ${marker}`,
  });
  expect(viaHttp.status).toBe(200);
  const group = await api(aliceToken, "POST", "/v1/chats", { type: "group", title: `title ${marker}`, members: [bob] });
  expect(group.ok).toBe(true);
  const png = pngBytes(64);
  const upload = await fetch(`${base}/v1/chats/${chatId}/attachments?name=${marker}.png`, {
    method: "POST",
    headers: { Authorization: `Bearer ${aliceToken}`, "Content-Type": "image/png" },
    body: png,
  });
  expect(upload.status).toBe(201);
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const keys = {
    p256dh: Buffer.from(await crypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url"),
    auth: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url"),
  };
  const subscribed = await api(bobToken, "PUT", "/v1/devices/phone/push", {
    endpoint: `http://127.0.0.1:9/${marker}`,
    keys,
  });
  expect(subscribed.status).toBe(204);
  const refused = await api(`${marker}.${marker}.${marker}`, "GET", "/v1/chats");
  expect(refused.status).toBe(401);
  const refusedId = refused.headers.get("X-Request-Id");
  expect(await lineWhere((l) => l.event === "auth_failed" && l.requestId === refusedId)).toMatchObject({
    level: "warn",
    reason: "malformed token",
  });

  ws.close(1000, "done");
  const closed = await lineWhere((l) => l.event === "socket_close" && l.requestId === requestId);
  expect(closed).toMatchObject({ userId: alice, deviceId: "laptop", closeCode: 1000 });
  expect(closed.durationMs).toEqual(expect.any(Number));
  expect(
    await lineWhere((l) => l.event === "request" && l.route === "/v1/chats/:chatId/attachments" && l.userId === alice),
  ).toMatchObject({ status: 201, method: "POST" });

  const { raw, lines } = jsonLines();
  for (const line of lines) {
    expect(line.level).toMatch(/^(info|warn|error)$/);
    expect(typeof line.event).toBe("string");
    expect(new Date(line.ts).toISOString()).toBe(line.ts);
  }
  for (const secret of [marker, aliceToken, bobToken, keys.p256dh, keys.auth]) {
    expect(raw.filter((l) => l.includes(secret))).toEqual([]);
  }
});
