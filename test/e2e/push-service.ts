/**
 * A Web Push service (RFC 8030) for end-to-end tests, on 127.0.0.1 at a random port. It makes
 * subscriptions as a browser would (a P-256 ECDH key pair and a 16-byte auth secret) and takes
 * pushes at `/<subscription id>`: each is checked (VAPID per RFC 8292 with the server's key,
 * `TTL`, `Topic`, `Content-Encoding`), decrypted (RFC 8291 `aes128gcm`) and recorded with its
 * arrival time. Each subscription answers as it is told: 201, 410, 429 with `Retry-After`, or
 * never. Written from the RFCs, not from the server's code. Node only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How a subscription answers a push. */
export type Answer = { status: 201 } | { status: 410 } | { status: 429; retryAfter: number } | { status: "hang" };

/** The decrypted payload of a push (protocol v1.1). */
export interface PushPayload {
  chatId: string;
  seq: number;
  sender: string;
  kind: string;
  title?: string;
  body: string;
}

/** A push that passed every check, as it arrived. */
export interface ReceivedPush {
  /** `Date.now()` when the request arrived. */
  at: number;
  answered: Answer["status"];
  ttl: number;
  topic: string;
  vapid: { aud: string; exp: number; sub: string };
  payload: PushPayload;
}

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function unb64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[\w-]*$/.test(text)) throw new Error(`not base64url: ${text}`);
  return new Uint8Array(Buffer.from(text, "base64url"));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** One subscription: the browser's keys, what it was sent, and how it answers. */
export class TestSubscription {
  readonly pushes: ReceivedPush[] = [];
  /** Pushes that failed a check (answered 400), with why. */
  readonly problems: string[] = [];
  /** Answers for the next pushes, first first; then `answer`. */
  readonly script: Answer[] = [];
  answer: Answer = { status: 201 };
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly endpoint: string,
    readonly keys: { p256dh: string; auth: string },
    private readonly privateKey: CryptoKey,
    private readonly publicRaw: Uint8Array<ArrayBuffer>,
    private readonly auth: Uint8Array<ArrayBuffer>,
  ) {}

  /** The payloads received, attempts answered 429 or left hanging included. */
  payloads(): PushPayload[] {
    return this.pushes.map((p) => p.payload);
  }

  /** Waits until `condition` holds of the pushes; fails after `timeoutMs` or at the first bad push. */
  async until(condition: (pushes: ReceivedPush[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const check = () => {
      if (this.problems.length > 0) throw new Error(`bad push to ${this.id}: ${this.problems.join("; ")}`);
      return condition(this.pushes);
    };
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what} (${this.pushes.length} pushes)`));
      }, timeoutMs);
      const waiter = () => {
        try {
          if (!check()) return;
          resolve();
        } catch (err) {
          reject(err);
        }
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for the `count`-th push (counting from 1). */
  async nth(count: number, timeoutMs = 10_000): Promise<ReceivedPush> {
    await this.until((p) => p.length >= count, `push #${count} to ${this.id}`, timeoutMs);
    return this.pushes[count - 1] as ReceivedPush;
  }

  /** The answer for the push arriving now. */
  nextAnswer(): Answer {
    return this.script.shift() ?? this.answer;
  }

  record(push: ReceivedPush | string): void {
    if (typeof push === "string") this.problems.push(push);
    else this.pushes.push(push);
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Decrypts an `aes128gcm` body (RFC 8188 header, one record, RFC 8291 keys) to its text. */
  async decrypt(body: Uint8Array<ArrayBuffer>): Promise<string> {
    if (body.byteLength < 21) throw new Error("body shorter than the aes128gcm header");
    const salt = body.slice(0, 16);
    const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
    const idLength = body[20] as number;
    if (idLength !== 65) throw new Error(`keyid of ${idLength} bytes, not a P-256 point`);
    const senderPublic = body.slice(21, 21 + idLength);
    const ciphertext = body.slice(21 + idLength);
    if (ciphertext.byteLength > recordSize) throw new Error("more than one record");
    const senderKey = await crypto.subtle.importKey(
      "raw",
      senderPublic,
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const shared = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "ECDH", public: senderKey }, this.privateKey, 256),
    );
    const ikm = await hmac(
      await hmac(this.auth, shared),
      concat(enc.encode("WebPush: info\0"), this.publicRaw, senderPublic, new Uint8Array([1])),
    );
    const prk = await hmac(salt, ikm);
    const cek = (await hmac(prk, concat(enc.encode("Content-Encoding: aes128gcm\0"), new Uint8Array([1])))).slice(
      0,
      16,
    );
    const nonce = (await hmac(prk, concat(enc.encode("Content-Encoding: nonce\0"), new Uint8Array([1])))).slice(0, 12);
    const key = await crypto.subtle.importKey("raw", cek, { name: "AES-GCM" }, false, ["decrypt"]);
    const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext));
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (padded[end] !== 2) throw new Error("no last-record delimiter");
    return new TextDecoder("utf-8", { fatal: true }).decode(padded.subarray(0, end));
  }
}

/** Checks `Authorization: vapid t=<JWT>, k=<key>` for a push to `endpoint`; answers the claims. */
async function verifyVapid(
  header: string | undefined,
  endpoint: string,
  serverKey: string,
): Promise<ReceivedPush["vapid"]> {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), ?k=([\w-]+)$/.exec(header ?? "");
  if (!m) throw new Error(`not a VAPID Authorization: ${header}`);
  const [, head, claims, signature, k] = m as unknown as [string, string, string, string, string];
  if (k !== serverKey) throw new Error(`k=${k} is not the server's key ${serverKey}`);
  const publicKey = await crypto.subtle.importKey("raw", unb64url(k), { name: "ECDSA", namedCurve: "P-256" }, false, [
    "verify",
  ]);
  const signed = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    publicKey,
    unb64url(signature),
    enc.encode(`${head}.${claims}`),
  );
  if (!signed) throw new Error("the VAPID signature does not verify");
  const { alg } = JSON.parse(Buffer.from(head, "base64url").toString()) as { alg?: unknown };
  if (alg !== "ES256") throw new Error(`VAPID alg ${String(alg)}`);
  const c = JSON.parse(Buffer.from(claims, "base64url").toString()) as { aud?: unknown; exp?: unknown; sub?: unknown };
  if (c.aud !== new URL(endpoint).origin) throw new Error(`aud ${String(c.aud)}, not ${new URL(endpoint).origin}`);
  const now = Date.now() / 1000;
  if (typeof c.exp !== "number" || !(c.exp > now && c.exp <= now + 24 * 3600)) throw new Error(`exp ${String(c.exp)}`);
  if (typeof c.sub !== "string" || c.sub === "") throw new Error("no sub");
  return { aud: c.aud, exp: c.exp, sub: c.sub };
}

export class PushService {
  private readonly subscriptions = new Map<string, TestSubscription>();
  private counter = 0;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    /** The server's VAPID public key (`GET /v1/push/key`): every push must be signed with it. */
    private readonly serverKey: string,
  ) {}

  static async start(serverKey: string): Promise<PushService> {
    let service: PushService | null = null;
    const server = createServer((req, res) => {
      service?.receive(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    service = new PushService(server, `http://127.0.0.1:${port}`, serverKey);
    return service;
  }

  /** A new subscription, as `PushManager.subscribe` makes in a browser. */
  async subscribe(): Promise<TestSubscription> {
    this.counter += 1;
    const id = `s${this.counter}-${Date.now().toString(36)}`;
    const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
      "deriveBits",
    ])) as CryptoKeyPair;
    const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const auth = crypto.getRandomValues(new Uint8Array(16));
    const keys = { p256dh: b64url(publicRaw), auth: b64url(auth) };
    const sub = new TestSubscription(id, `${this.origin}/${id}`, keys, pair.privateKey, publicRaw, auth);
    this.subscriptions.set(id, sub);
    return sub;
  }

  /** Stops listening and drops every connection, hanging ones included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const sub = this.subscriptions.get((req.url ?? "").slice(1));
    if (req.method !== "POST" || !sub) {
      res.writeHead(404).end();
      return;
    }
    let push: ReceivedPush;
    const answer = sub.nextAnswer();
    try {
      push = {
        at,
        answered: answer.status,
        ...(await this.check(req, sub)),
        payload: JSON.parse(await sub.decrypt(new Uint8Array(Buffer.concat(chunks)))) as PushPayload,
      };
    } catch (err) {
      sub.record(err instanceof Error ? err.message : String(err));
      res.writeHead(400).end();
      return;
    }
    sub.record(push);
    if (answer.status === "hang") return;
    const headers: Record<string, string> = answer.status === 429 ? { "Retry-After": String(answer.retryAfter) } : {};
    if (answer.status === 201) headers.Location = `${this.origin}/messages/${sub.id}/${sub.pushes.length}`;
    res.writeHead(answer.status, headers).end();
  }

  private async check(
    req: IncomingMessage,
    sub: TestSubscription,
  ): Promise<Pick<ReceivedPush, "ttl" | "topic" | "vapid">> {
    const encoding = req.headers["content-encoding"];
    if (encoding !== "aes128gcm") throw new Error(`Content-Encoding ${encoding}`);
    const ttlHeader = req.headers.ttl;
    const ttl = typeof ttlHeader === "string" && /^\d+$/.test(ttlHeader) ? Number(ttlHeader) : Number.NaN;
    if (!(ttl >= 3600)) throw new Error(`TTL ${ttlHeader}, not at least 3600`);
    const topic = req.headers.topic;
    if (typeof topic !== "string" || !/^[\w-]{1,32}$/.test(topic)) throw new Error(`Topic ${topic}`);
    const vapid = await verifyVapid(req.headers.authorization, sub.endpoint, this.serverKey);
    return { ttl, topic, vapid };
  }
}
