/**
 * The client SDK's files against a real local server: `sendFile` checks a file before any
 * request, uploads it once with the token in the `Authorization` header and sends its message
 * through the outbox (a reconnect or a restart between upload and send neither uploads again nor
 * doubles the message); `download` fetches with the header, whole or a range; `attachmentUrl`
 * hands out one `blob:` URL per file. In Chromium the upload reports progress through
 * XMLHttpRequest and the photo shows from its `blob:` URL.
 */
import { resolveObjectURL } from "node:buffer";
import { resolve } from "node:path";
import { build } from "esbuild";
import { afterEach, describe, expect, it } from "vitest";
import type * as Sdk from "../../client";
import {
  DEFAULT_ATTACHMENT_TYPES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  memoryStorage,
  type SendResult,
  type UploadProgress,
} from "../../client";
import { MAX_BODY_BYTES } from "../../protocol/limits";
import { base, client, closeClients, FetchLog, isUpload, stored, until, user, views, waitOpen } from "./sdk-fixtures";
import { browserPages } from "./web-pages";

afterEach(closeClients);
const person = browserPages();

/** A real 1×1 PNG. */
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/** A PNG of `size` bytes: the pixel, then bytes that decoders ignore after the image's end. */
function png(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set(PIXEL);
  for (let i = PIXEL.length; i < size; i++) bytes[i] = (i * 7) % 251;
  return bytes;
}

async function same(blob: { arrayBuffer(): Promise<ArrayBuffer> } | undefined, bytes: Uint8Array): Promise<boolean> {
  return blob !== undefined && Buffer.from(await blob.arrayBuffer()).equals(bytes);
}

function sendFramesOf(frames: string[], clientMsgId: string): Record<string, unknown>[] {
  return frames
    .map((f) => JSON.parse(f) as Record<string, unknown>)
    .filter((f) => f.type === "send" && f.clientMsgId === clientMsgId);
}

describe("sending and downloading", () => {
  it("Bob gets Alice's PNG and caption as an attachment message and downloads the same bytes, whole or a range", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const [aliceHttp, bobHttp] = [new FetchLog(), new FetchLog()];
    const a = client(alice, { fetch: aliceHttp.fetch });
    const b = client(bob, { fetch: bobHttp.fetch });
    const chatId = await a.client.createDirectChat(bob.id);
    const [viewA, viewB] = [views(a.client), views(b.client)];
    a.client.connect();
    b.client.connect();
    await Promise.all([waitOpen(a.rec), waitOpen(b.rec)]);

    const bytes = png(300_000);
    const progress: UploadProgress[] = [];
    const sent = await a.client.sendFile(chatId, bytes, {
      name: "holiday/beach.png",
      caption: "the beach",
      onProgress: (p) => progress.push(p),
    });
    // Node's fetch reports no upload progress: the start, then the whole file once accepted.
    expect(progress).toEqual([
      { loaded: 0, total: bytes.length },
      { loaded: bytes.length, total: bytes.length },
    ]);
    const uploads = aliceHttp.uploads();
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.headers.get("authorization")).toBe(`Bearer ${alice.token}`);
    expect(uploads[0]?.headers.get("content-type")).toBe("image/png");

    await until(() => b.client.cursor(chatId) >= sent.seq, "Bob gets the file's message");
    const got = b.rec.messages.find((m) => m.seq === sent.seq);
    expect(got).toStrictEqual({
      chatId,
      seq: sent.seq,
      sender: alice.id,
      clientMsgId: sent.clientMsgId,
      body: "the beach",
      ts: sent.ts,
      kind: "attachment",
      attachment: {
        id: expect.stringMatching(/^[a-z2-7]{26}$/),
        size: bytes.length,
        contentType: "image/png",
        name: "beach.png",
      },
    });
    const log = await stored(alice, chatId);
    expect(log).toStrictEqual([got]);
    // Alice's own copy comes from the ack: it carries the attachment as the server stored it.
    expect(viewA(chatId).rows()).toStrictEqual(log);
    expect(viewB(chatId).rows()).toStrictEqual(log);
    expect(a.rec.ticks[0]).toEqual({ chatId, seq: sent.seq, clientMsgId: sent.clientMsgId, status: "sent" });

    const id = got?.attachment?.id ?? "";
    const whole = await b.client.download(chatId, id);
    expect(whole.type).toBe("image/png");
    expect(await same(whole, bytes)).toBe(true);
    const middle = await b.client.download(chatId, id, { range: { offset: 1_000, length: 24 } });
    expect(new Uint8Array(await middle.arrayBuffer())).toEqual(bytes.slice(1_000, 1_024));
    const tail = await b.client.download(chatId, id, { range: { offset: bytes.length - 5 } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(-5));
    await expect(b.client.download(chatId, id, { range: { offset: bytes.length } })).rejects.toMatchObject({
      name: "ChatApiError",
      status: 416,
      code: "bad_request",
    });

    const fetched = bobHttp.calls.length;
    const url = await b.client.attachmentUrl(chatId, id);
    expect(url).toMatch(/^blob:/);
    expect(await b.client.attachmentUrl(chatId, id)).toBe(url);
    expect(bobHttp.calls.length).toBe(fetched + 1);
    expect(await same(resolveObjectURL(url), bytes)).toBe(true);
    b.client.revokeAttachmentUrls();
    await until(() => resolveObjectURL(url) === undefined, "the blob URL is revoked");
    const again = await b.client.attachmentUrl(chatId, id);
    expect(again).not.toBe(url);
    expect(bobHttp.calls.length).toBe(fetched + 2);

    // Every file request carried the token in its header, none in its URL.
    for (const call of [...aliceHttp.calls, ...bobHttp.calls]) {
      const token = call.headers.get("authorization")?.replace("Bearer ", "") ?? "";
      expect([alice.token, bob.token]).toContain(token);
      expect(call.url).not.toContain(token);
    }
  });

  it("a refused type, a file too large, empty or not what it says, or a bad caption is refused before any request", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const http = new FetchLog();
    const a = client(alice, { fetch: http.fetch });
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    await waitOpen(a.rec);
    const requests = http.calls.length;
    const frames = a.net.sentFrames().length;
    const refused = (file: Sdk.FileBody, options: Sdk.SendFileOptions) => a.client.sendFile(chatId, file, options);

    await expect(refused(new Uint8Array([1, 2, 3]), { name: "tool.exe" })).rejects.toMatchObject({
      name: "ProtocolError",
      code: "bad_request",
      message: "files of type 'application/octet-stream' are not accepted",
    });
    await expect(refused(new Blob(["PK"], { type: "application/zip" }), { name: "a.zip" })).rejects.toMatchObject({
      code: "bad_request",
    });
    await expect(refused(new Uint8Array(DEFAULT_MAX_ATTACHMENT_BYTES + 1), { name: "huge.txt" })).rejects.toMatchObject(
      {
        name: "ProtocolError",
        code: "too_large",
        message: `a file may have at most ${DEFAULT_MAX_ATTACHMENT_BYTES} bytes`,
      },
    );
    await expect(refused(new ArrayBuffer(0), { name: "empty.txt" })).rejects.toMatchObject({ code: "bad_request" });
    await expect(refused(new TextEncoder().encode("not a png at all"), { name: "fake.png" })).rejects.toMatchObject({
      code: "bad_request",
      message: "the file's first bytes are not those of image/png",
    });
    // The declared type counts, not the name.
    await expect(refused(png(100), { name: "p.png", contentType: "image/jpeg" })).rejects.toMatchObject({
      code: "bad_request",
    });
    await expect(refused(png(100), { name: "p.png", caption: "x".repeat(MAX_BODY_BYTES + 1) })).rejects.toMatchObject({
      code: "too_large",
    });
    await expect(refused(png(100), { name: "p.png", replyTo: 0 })).rejects.toMatchObject({ code: "bad_request" });
    // A deployment with a lower limit, given to the client: refused past it, here.
    const small = client(alice, { fetch: http.fetch, deviceId: "small", maxAttachmentBytes: 1_000 });
    await expect(small.client.sendFile(chatId, png(1_001), { name: "p.png" })).rejects.toMatchObject({
      code: "too_large",
      message: "a file may have at most 1000 bytes",
    });

    expect(http.calls.length).toBe(requests);
    expect(a.net.sentFrames().length).toBe(frames);
    expect(a.client.pending()).toEqual([]);
    expect(await stored(alice, chatId)).toEqual([]);
  });

  it("an upload the server refuses rejects with the server's code and message, and nothing is sent", async () => {
    const [alice, bob, carol] = [await user("alice"), await user("bob"), await user("carol")];
    const http = new FetchLog();
    // As if the deployment took BMP: this client lets it through, the server does not.
    const a = client(alice, { fetch: http.fetch, attachmentTypes: [...DEFAULT_ATTACHMENT_TYPES, "image/bmp"] });
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    await waitOpen(a.rec);
    const progress: UploadProgress[] = [];
    const bmp = new Uint8Array([0x42, 0x4d, 1, 2, 3, 4]);
    await expect(
      a.client.sendFile(chatId, bmp, {
        name: "old.bmp",
        contentType: "image/bmp",
        onProgress: (p) => progress.push(p),
      }),
    ).rejects.toMatchObject({
      name: "ProtocolError",
      code: "bad_request",
      message: "files of type 'image/bmp' are not accepted",
    });
    expect(progress).toEqual([{ loaded: 0, total: bmp.length }]);

    // Carol is not in the chat: her upload is refused by the chat itself.
    const c = client(carol, { fetch: http.fetch });
    await expect(c.client.sendFile(chatId, png(500), { name: "p.png" })).rejects.toMatchObject({
      name: "ProtocolError",
      code: "forbidden",
    });
    await expect(c.client.download(chatId, "a".repeat(26))).rejects.toMatchObject({
      name: "ChatApiError",
      status: 403,
      code: "forbidden",
    });

    expect(http.uploads()).toHaveLength(2);
    expect(a.net.sentFrames().filter((f) => f.includes('"type":"send"'))).toEqual([]);
    expect(a.client.pending()).toEqual([]);
    expect(c.client.pending()).toEqual([]);
    expect(await stored(alice, chatId)).toEqual([]);
  });
});

describe("outbox", () => {
  it("a reconnect between upload and send, and a lost ack, neither upload again nor double the message", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const http = new FetchLog();
    const a = client(alice, { fetch: http.fetch });
    const chatId = await a.client.createDirectChat(bob.id);
    a.client.connect();
    await waitOpen(a.rec);

    const bytes = png(2_000);
    const options = { name: "p.png", caption: "once", clientMsgId: "file-once" };
    // The upload's answer arrives after the connection died: the send waits in the outbox.
    // Meanwhile the same file is sent again under its clientMsgId: it joins the upload under way.
    let joined: Promise<SendResult> | undefined;
    http.afterAnswer = async (call) => {
      if (!isUpload(call) || joined) return;
      joined = a.client.sendFile(chatId, bytes, options);
      a.net.offline = true;
      a.net.cut();
      await until(() => a.client.state !== "open", "the client notices the lost connection");
    };
    // And the first ack of the send is lost with its connection too: the outbox sends it again.
    let cuts = 0;
    a.net.filter = (f) => (f.type === "ack" && f.clientMsgId === "file-once" && cuts++ === 0 ? "cut" : "pass");
    const sending = a.client.sendFile(chatId, bytes, options);
    await until(() => a.client.pending().length === 1, "the file's message waits in the outbox");
    const [entry] = a.client.pending();
    expect(entry).toEqual({
      chatId,
      clientMsgId: "file-once",
      body: "once",
      kind: "attachment",
      attachment: { id: expect.any(String), size: bytes.length, contentType: "image/png", name: "p.png" },
    });
    a.net.offline = false;
    const [sent, second] = await Promise.all([sending, joined]);
    expect(second).toEqual(sent);

    expect(http.uploads()).toHaveLength(1);
    const frames = sendFramesOf(a.net.sentFrames(), "file-once");
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const f of frames) expect(f).toMatchObject({ kind: "attachment", attachment: { id: entry?.attachment?.id } });
    const log = await stored(alice, chatId);
    expect(log.map((m) => [m.seq, m.clientMsgId, m.kind, m.body, m.attachment])).toEqual([
      [sent.seq, "file-once", "attachment", "once", entry?.attachment],
    ]);
    expect(a.client.pending()).toEqual([]);
  });

  it("a file's message kept in storage is sent by the device's next client without uploading again", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const storage = memoryStorage();
    const http = new FetchLog();
    const first = client(alice, { storage, fetch: http.fetch });
    const chatId = await first.client.createDirectChat(bob.id);
    first.client.connect();
    await waitOpen(first.rec);
    http.afterAnswer = async (call) => {
      if (!isUpload(call)) return;
      first.net.offline = true;
      first.net.cut();
      await until(() => first.client.state !== "open", "the client notices the lost connection");
    };
    const bytes = png(5_000);
    const unsent = first.client.sendFile(chatId, bytes, { name: "kept.png", clientMsgId: "file-kept" });
    await until(() => first.client.pending().length === 1, "the file's message waits in the outbox");
    first.client.close();
    await expect(unsent).rejects.toThrow(/closed/);

    // An attachment entry that names no upload cannot be sent: it is not loaded.
    const key = `edge-chat:${alice.id}:sdk-test:outbox`;
    const kept = JSON.parse(storage.getItem(key) ?? "[]") as unknown[];
    const broken = { chatId, clientMsgId: "no-upload", body: "", kind: "attachment" };
    storage.setItem(key, JSON.stringify([...kept, broken]));

    const nextHttp = new FetchLog();
    const next = client(alice, { storage, fetch: nextHttp.fetch });
    const [entry] = next.client.pending();
    expect(next.client.pending()).toEqual([
      {
        chatId,
        clientMsgId: "file-kept",
        body: "",
        kind: "attachment",
        attachment: { id: expect.any(String), size: bytes.length, contentType: "image/png", name: "kept.png" },
      },
    ]);
    const resent = next.client.sendFile(chatId, bytes, { name: "kept.png", clientMsgId: "file-kept" });
    next.client.connect();
    const sent = await resent;
    expect(nextHttp.calls).toEqual([]);
    expect(http.uploads()).toHaveLength(1);

    const log = await stored(alice, chatId);
    expect(log.map((m) => [m.seq, m.clientMsgId, m.attachment])).toEqual([[sent.seq, "file-kept", entry?.attachment]]);
    const b = client(bob);
    expect(await same(await b.client.download(chatId, entry?.attachment?.id ?? ""), bytes)).toBe(true);
  });
});

/** The SDK as one script for a page: `window.EdgeChat`. */
async function sdkScript(): Promise<string> {
  const out = await build({
    entryPoints: [resolve(import.meta.dirname, "../../client/index.ts")],
    bundle: true,
    format: "iife",
    globalName: "EdgeChat",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  return out.outputFiles[0]?.text ?? "";
}

describe("in a browser", () => {
  it("the upload reports progress through XMLHttpRequest, and the photo shows from a blob: URL, no token in any URL", async () => {
    const [alice, bob] = [await user("alice"), await user("bob")];
    const chatId = await client(alice).client.createDirectChat(bob.id);
    const { page } = await person("alice");
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    // A bare page of the server's origin (no favicon to ask for).
    await page.route("**/favicon.ico", (route) => route.fulfill({ status: 204 }));
    await page.goto(`${base}/health`);
    await page.addScriptTag({ content: await sdkScript() });
    // Uploads at 4 MB/s: the browser reports the bytes going out along the way.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 4_000_000,
    });
    const size = 4_000_000;

    const shown = await page.evaluate(
      async ({ baseUrl, userId, token, chatId, pixel, size }) => {
        const { ChatClient } = (window as unknown as { EdgeChat: typeof Sdk }).EdgeChat;
        let opened = 0;
        const open = XMLHttpRequest.prototype.open;
        XMLHttpRequest.prototype.open = function (this: XMLHttpRequest, method: string, url: string | URL) {
          opened += 1;
          open.call(this, method, url, true);
        };
        const sdk = new ChatClient({ baseUrl, userId, deviceId: "browser", getToken: async () => token });
        sdk.connect();
        const bytes = new Uint8Array(size);
        bytes.set(Uint8Array.from(atob(pixel), (ch) => ch.charCodeAt(0)));
        const progress: { loaded: number; total: number }[] = [];
        const sent = await sdk.sendFile(chatId, new Blob([bytes], { type: "image/png" }), {
          name: "pixel.png",
          onProgress: (p) => progress.push(p),
        });
        const row = (await sdk.history(chatId)).messages.find((m) => m.seq === sent.seq);
        const message = row?.kind === "hidden" ? undefined : row;
        const url = await sdk.attachmentUrl(chatId, message?.attachment?.id ?? "");
        const img = new Image();
        img.src = url;
        await img.decode();
        sdk.close();
        return { opened, progress, url, width: img.naturalWidth, attachment: message?.attachment };
      },
      { baseUrl: base, userId: alice.id, token: alice.token, chatId, pixel: PIXEL.toString("base64"), size },
    );

    expect(shown.opened).toBe(1);
    expect(shown.progress[0]).toEqual({ loaded: 0, total: size });
    expect(shown.progress.at(-1)).toEqual({ loaded: size, total: size });
    const loaded = shown.progress.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((x, y) => x - y));
    // Reported while the bytes went out, not only at the end as over Node's fetch.
    expect(loaded.filter((n) => n > 0 && n < size).length).toBeGreaterThan(0);
    expect(shown.attachment).toMatchObject({ size, contentType: "image/png", name: "pixel.png" });
    expect(shown.url).toMatch(/^blob:/);
    expect(shown.width).toBe(1);
    expect(urls.filter((u) => u.includes("/attachments"))).toHaveLength(2);
    for (const u of urls) expect(u).not.toContain(alice.token);
  });
});
