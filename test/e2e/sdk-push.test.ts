/**
 * The SDK's Web Push calls against the real local server (`ChatApi.pushKey`,
 * `setPushSubscription`, `removePushSubscription`, `mute`, `unmute`, and `ChatClient.enablePush` /
 * `disablePush` with a registration standing in for a browser's). Subscriptions are made here as
 * a browser makes them (a P-256 ECDH key pair, 16 random auth bytes) for a small push service on
 * 127.0.0.1 that records the server's pushes and decrypts them (RFC 8291), so a call that
 * resolved is also checked by what the server pushes after it.
 */
import { createDecipheriv, createECDH, type ECDH, hkdfSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatApi, ChatApiError, ChatClient, devToken, ProtocolError, type PushSubscriptionJson } from "../../client";
import { base, unique, until } from "./sdk-fixtures";

/** The decrypted payload of a push (protocol v1.1). */
interface Payload {
  chatId: string;
  seq: number;
  sender: string;
  kind: string;
  title?: string;
  body: string;
}

interface Push {
  path: string;
  headers: IncomingHttpHeaders;
  payload: Payload;
}

/** A browser's side of one subscription: its keys, and the JSON it hands the server. */
interface BrowserSubscription {
  ecdh: ECDH;
  auth: Buffer;
  json: PushSubscriptionJson;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** The public key of dev.env's VAPID private key, derived here (uncompressed P-256, base64url). */
function devPublicKey(): string {
  const env = readFileSync(resolve(import.meta.dirname, "../../dev.env"), "utf8");
  const d = /^VAPID_PRIVATE_KEY\s*=\s*"?([\w-]+)"?/m.exec(env)?.[1];
  if (!d) throw new Error("VAPID_PRIVATE_KEY not found in dev.env");
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(d, "base64url"));
  return b64url(ecdh.getPublicKey());
}

/** RFC 8291 `aes128gcm` decryption of a push body of one record, as the browser does it. */
function decrypt(body: Buffer, sub: BrowserSubscription): Payload {
  const salt = body.subarray(0, 16);
  const idLength = body[20] ?? 0;
  const serverKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), sub.ecdh.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync("sha256", sub.ecdh.computeSecret(serverKey), sub.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 2 and then zero padding.
  const end = padded.lastIndexOf(2);
  return JSON.parse(padded.subarray(0, end).toString("utf8")) as Payload;
}

/** A push service on 127.0.0.1: every POST is answered 201 and recorded, decrypted. */
class PushInbox {
  readonly pushes: Push[] = [];
  private readonly subscriptions = new Map<string, BrowserSubscription>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "";
      const sub = this.subscriptions.get(path);
      if (req.method === "POST" && sub)
        this.pushes.push({ path, headers: req.headers, payload: decrypt(Buffer.concat(chunks), sub) });
      res.writeHead(sub ? 201 : 404).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, "127.0.0.1", done));
  }

  stop(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }

  /** A new subscription at `/<name>`, made as a browser makes one. */
  subscription(name: string): BrowserSubscription {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const { port } = this.server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}/${name}`;
    const sub = {
      ecdh,
      auth,
      json: { endpoint, expirationTime: null, keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(auth) } },
    };
    this.subscriptions.set(`/${name}`, sub);
    return sub;
  }

  at(name: string): Push[] {
    return this.pushes.filter((p) => p.path === `/${name}`);
  }

  /** Waits for a push to `/<name>` of the chat. */
  async next(name: string, chatId: string): Promise<Push> {
    const find = () => this.at(name).find((p) => p.payload.chatId === chatId);
    await until(() => find() !== undefined, `a push to /${name} for ${chatId}`, 20_000);
    return find() as Push;
  }
}

async function apiFor(userId: string): Promise<ChatApi> {
  const token = await devToken(base, userId);
  return new ChatApi(base, async () => token);
}

describe("Web Push through the SDK", () => {
  const inbox = new PushInbox();
  let alice: { id: string; api: ChatApi };
  let bob: { id: string; api: ChatApi };
  let sent = 0;
  /** A device of alice's subscribed throughout: every push reaches it too, so it marks when pushes were sent. */
  const witness = unique("witness");

  beforeAll(async () => {
    await inbox.start();
    const [a, b] = [unique("alice"), unique("bob")];
    alice = { id: a, api: await apiFor(a) };
    bob = { id: b, api: await apiFor(b) };
    // Before any chat exists: a chat parks alice (no device connected) knowing whether she takes
    // pushes, and is not told of a subscription she makes later while parked.
    await alice.api.setPushSubscription("witness", inbox.subscription(witness).json);
  });
  afterAll(() => inbox.stop());

  /** A group of bob's with alice in it: each test's own chat, so no push waits on another's interval. */
  const groupWithAlice = (title: string) => bob.api.createGroup(title, [alice.id]);
  /**
   * Waits until a message in `chatId`, and then one in a fresh chat, reached the witness, so that any
   * push of the first message to another device was sent with the first (the same notice) and
   * has arrived well before the second.
   */
  async function settled(chatId: string): Promise<void> {
    await inbox.next(witness, chatId);
    const after = await groupWithAlice("After");
    await bobSays(after, "barrier");
    await inbox.next(witness, after);
  }
  /** Bob says something over HTTP: alice, with no device connected, is pushed. */
  async function bobSays(chatId: string, body: string): Promise<void> {
    const token = await devToken(base, bob.id);
    const res = await fetch(`${base}/v1/chats/${encodeURIComponent(chatId)}/messages`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ clientMsgId: `m-${++sent}`, body }),
    });
    expect(res.status).toBe(200);
  }

  it("pushKey answers the server's VAPID public key", async () => {
    const key = await alice.api.pushKey();
    expect(key).toBe(devPublicKey());
    expect(Buffer.from(key, "base64url")).toHaveLength(65);
  });

  it("a browser's subscription is stored: the server's pushes reach it, signed and decryptable", async () => {
    const trip = await groupWithAlice("Trip");
    const name = unique("phone");
    await expect(alice.api.setPushSubscription("phone", inbox.subscription(name).json)).resolves.toBeUndefined();
    await bobSays(trip, "Train at 9 from platform 4");
    const push = await inbox.next(name, trip);
    expect(push.payload).toMatchObject({ chatId: trip, sender: bob.id, kind: "text", title: "Trip" });
    expect(push.payload.body).toBe("Train at 9 from platform 4");
    expect(push.headers["content-encoding"]).toBe("aes128gcm");
    expect(push.headers.authorization).toContain(`k=${devPublicKey()}`);
    await alice.api.removePushSubscription("phone");
  });

  it("a second PUT replaces the device's subscription; after DELETE the device gets no push", async () => {
    const [first, second, third] = [unique("first"), unique("second"), unique("third")];
    const [c1, c2, c3] = [await groupWithAlice("One"), await groupWithAlice("Two"), await groupWithAlice("Three")];
    await alice.api.setPushSubscription("tablet", inbox.subscription(first).json);
    await alice.api.setPushSubscription("tablet", inbox.subscription(second).json);
    await bobSays(c1, "to the newer subscription");
    expect((await inbox.next(second, c1)).payload.body).toBe("to the newer subscription");
    expect(inbox.at(first)).toEqual([]);

    await expect(alice.api.removePushSubscription("tablet")).resolves.toBeUndefined();
    await bobSays(c2, "while unsubscribed");
    await settled(c2);
    expect(inbox.at(second).filter((p) => p.payload.chatId === c2)).toEqual([]);
    // The device subscribes again: pushed again.
    await alice.api.setPushSubscription("tablet", inbox.subscription(third).json);
    await bobSays(c3, "subscribed again");
    expect((await inbox.next(third, c3)).payload.body).toBe("subscribed again");
    await alice.api.removePushSubscription("tablet");
  });

  it("mute silences a chat until unmute; other chats still push", async () => {
    const [quiet, loud] = [await groupWithAlice("Quiet"), await groupWithAlice("Loud")];
    const name = unique("laptop");
    await alice.api.setPushSubscription("laptop", inbox.subscription(name).json);
    await expect(alice.api.mute(quiet, null)).resolves.toBeUndefined();
    await bobSays(quiet, "muted, no push");
    await bobSays(loud, "not muted");
    expect((await inbox.next(name, loud)).payload.body).toBe("not muted");
    await settled(loud);
    expect(inbox.pushes.filter((p) => p.payload.chatId === quiet)).toEqual([]);

    await expect(alice.api.unmute(quiet)).resolves.toBeUndefined();
    await bobSays(quiet, "unmuted again");
    expect((await inbox.next(name, quiet)).payload.body).toBe("unmuted again");
    await alice.api.removePushSubscription("laptop");
  });

  it.each([
    ["plain http to a host that is not local", { endpoint: "http://push.example.com/x" }],
    ["a p256dh that is not on P-256", { p256dh: b64url(Buffer.concat([Buffer.from([4]), Buffer.alloc(64)])) }],
    ["a compressed p256dh", { compress: true }],
    ["an auth of 15 bytes", { auth: b64url(randomBytes(15)) }],
  ])("a subscription with %s is refused with bad_request", async (_, change) => {
    const sub = inbox.subscription(unique("bad")).json;
    const keys = { ...sub.keys };
    if ("p256dh" in change) keys.p256dh = change.p256dh;
    if ("auth" in change) keys.auth = change.auth;
    if ("compress" in change) {
      const point = Buffer.from(keys.p256dh, "base64url");
      keys.p256dh = b64url(Buffer.concat([Buffer.from([2 + ((point[64] ?? 0) & 1)]), point.subarray(1, 33)]));
    }
    const body = { ...sub, keys, endpoint: "endpoint" in change ? change.endpoint : sub.endpoint };
    const refusal = await alice.api.setPushSubscription("bad-device", body).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(ChatApiError);
    expect(refusal).toMatchObject({ status: 400, code: "bad_request" });
  });

  describe("ChatClient.enablePush / disablePush with a registration standing in for a browser's", () => {
    /** A `ServiceWorkerRegistration` whose push manager hands out one subscription, recording the calls. */
    function registration(sub: BrowserSubscription) {
      const calls: { subscribe: PushSubscriptionOptionsInit[]; unsubscribed: number } = {
        subscribe: [],
        unsubscribed: 0,
      };
      let current: PushSubscription | null = null;
      const subscription = {
        endpoint: sub.json.endpoint,
        options: { applicationServerKey: null as ArrayBuffer | null, userVisibleOnly: true },
        toJSON: () => sub.json,
        unsubscribe: async () => {
          calls.unsubscribed += 1;
          current = null;
          return true;
        },
      };
      const pushManager = {
        getSubscription: async () => current,
        subscribe: async (options: PushSubscriptionOptionsInit) => {
          calls.subscribe.push(options);
          subscription.options.applicationServerKey = new Uint8Array(options.applicationServerKey as Uint8Array).buffer;
          current = subscription as unknown as PushSubscription;
          return current;
        },
      };
      return { registration: { pushManager } as unknown as ServiceWorkerRegistration, calls };
    }

    it("enablePush subscribes with the server's key and registers this device; disablePush undoes both", async () => {
      const chat = await groupWithAlice("Enabled");
      const name = unique("browser");
      const { registration: reg, calls } = registration(inbox.subscription(name));
      const token = await devToken(base, alice.id);
      const client = new ChatClient({
        baseUrl: base,
        userId: alice.id,
        deviceId: "web-1",
        getToken: async () => token,
      });

      const subscription = await client.enablePush(reg);
      expect(subscription.endpoint).toMatch(new RegExp(`/${name}$`));
      expect(calls.subscribe).toHaveLength(1);
      expect(calls.subscribe[0]?.userVisibleOnly).toBe(true);
      expect(b64url(calls.subscribe[0]?.applicationServerKey as Uint8Array)).toBe(devPublicKey());
      // Enabling again reuses the browser's subscription made with the same key.
      await client.enablePush(reg);
      expect(calls.subscribe).toHaveLength(1);
      await bobSays(chat, "to web-1");
      expect((await inbox.next(name, chat)).payload.body).toBe("to web-1");

      await client.disablePush(reg);
      expect(calls.unsubscribed).toBe(1);
      const later = await groupWithAlice("Disabled");
      await bobSays(later, "while disabled");
      await settled(later);
      expect(inbox.at(name).filter((p) => p.payload.chatId === later)).toEqual([]);
    });

    it("enablePush where the server has no key rejects with a ProtocolError and subscribes nothing", async () => {
      const { registration: reg, calls } = registration(inbox.subscription(unique("nokey")));
      const token = await devToken(base, alice.id);
      const noKey: typeof fetch = async (input, init) =>
        String(input).endsWith("/v1/push/key")
          ? new Response(JSON.stringify({ error: { code: "not_found", message: "push is not configured" } }), {
              status: 404,
            })
          : fetch(input, init);
      const client = new ChatClient({
        baseUrl: base,
        userId: alice.id,
        deviceId: "web-2",
        getToken: async () => token,
        fetch: noKey,
      });
      const refusal = await client.enablePush(reg).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(ProtocolError);
      expect(refusal).toMatchObject({ code: "not_found" });
      expect(calls.subscribe).toEqual([]);
    });
  });
});
