/**
 * Notifications on the chat page in Chromium (harness: test/e2e/web-pages.ts) against the real
 * local server: the service worker (web/public/sw.js) turns a push into a notification per chat
 * and a click on it into the page opening that chat; the "Enable notifications" button
 * subscribes this device and the server pushes to it; disabling and signing out unsubscribe.
 *
 * How the worker is driven:
 * - A push: the DevTools protocol's `ServiceWorker.deliverPushMessage`, which fires a real
 *   (trusted) `push` event with the given payload, as a push service's decrypted message would.
 * - A click: Chromium has no way to click a notification from a test (nothing in the DevTools
 *   protocol or playwright), so the worker's own `onnotificationclick` handler is called from
 *   inside the worker with the real notification. Its `focus()` is refused there (focusing needs
 *   a real click), after the worker has told the tab which chat to open.
 * - Subscribing: headless Chromium has no push service. A playwright context is off the record,
 *   where `subscribe` fails ("Chrome currently does not support the Push API in incognito
 *   mode"), and a persistent profile waits for Google's push service forever. So the page's
 *   `PushManager.subscribe` is replaced before it loads by one that answers a subscription of
 *   keys made here, for a push service in this test; that the server pushes to it shows the
 *   page's subscription reached the server.
 */
import { createECDH, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { BrowserContext, Page, Request, Worker } from "playwright-core";
import { describe, expect, it } from "vitest";
import { ChatApi, type PushSubscriptionJson } from "../../client";
import { base, type TestUser, unique, until, user } from "./sdk-fixtures";
import { browserPages, chatButton, connected, signIn, WAIT } from "./web-pages";

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  renotify: boolean;
  data: unknown;
}

/** The service worker's scope, as its registration names it. */
const SCOPE = `${base}/`;

const apiOf = (u: TestUser) => new ChatApi(base, async () => u.token);

/** The page's service worker, once it runs. */
async function serviceWorker(context: BrowserContext, page: Page): Promise<Worker> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  return context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", WAIT));
}

/** Fires `push` events at the page's service worker through the DevTools protocol. */
async function pusher(context: BrowserContext, page: Page): Promise<(data: string) => Promise<void>> {
  const cdp = await context.newCDPSession(page);
  const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
  await cdp.send("ServiceWorker.enable");
  await until(() => registrations.some((r) => r.scopeURL === SCOPE && !r.isDeleted), "the worker's registration");
  const registrationId = registrations.find((r) => r.scopeURL === SCOPE)?.registrationId ?? "";
  return async (data) => {
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: base, registrationId, data });
  };
}

/** The notifications the worker shows (optionally those of one `tag`), oldest first. */
function notifications(worker: Worker, tag?: string): Promise<ShownNotification[]> {
  return worker.evaluate(async (tag) => {
    const scope = self as unknown as { registration: ServiceWorkerRegistration };
    const shown = await scope.registration.getNotifications(tag === undefined ? undefined : { tag });
    // `renotify` is in Chromium and the spec, not in TypeScript's DOM types.
    return shown.map((n: Notification & { renotify?: boolean }) => {
      const { title, body, tag, renotify, data } = n;
      return { title, body, tag, renotify: renotify === true, data: data as unknown };
    });
  }, tag);
}

/** Calls the worker's click handler with its notification of `tag`, as a click on it would. */
async function clickNotification(worker: Worker, tag: string): Promise<void> {
  await worker.evaluate(async (tag) => {
    const scope = self as unknown as {
      registration: ServiceWorkerRegistration;
      onnotificationclick: (event: { notification: Notification; waitUntil(p: Promise<unknown>): void }) => void;
    };
    const [notification] = await scope.registration.getNotifications({ tag });
    if (!notification) throw new Error(`no notification tagged ${tag}`);
    const waits: Promise<unknown>[] = [];
    scope.onnotificationclick({ notification, waitUntil: (p) => waits.push(p) });
    // Its focus() is refused outside a real click: that is the last step, after the message to the tab.
    await Promise.allSettled(waits);
  }, tag);
}

const payload = (p: { chatId: string; seq: number; sender: string; kind?: string; title?: string; body: string }) =>
  JSON.stringify({ kind: "text", ...p });

/** A push service on 127.0.0.1 that takes every push with 201 and records it. */
async function pushService() {
  const received: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "POST") received.push({ path: req.url ?? "", headers: req.headers });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { received, port, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

/**
 * A browser subscription made here: P-256 keys and auth bytes, as a browser makes them. The
 * page's push manager is replaced by one that answers it and records what it was asked; the
 * subscription is kept in localStorage, as a browser keeps its own across reloads.
 */
async function stubPushManager(page: Page, json: PushSubscriptionJson): Promise<void> {
  await page.addInitScript((json) => {
    const KEY = "test:push-subscription";
    const log = { subscribe: [] as { userVisibleOnly: boolean; key: string }[], unsubscribed: 0 };
    (window as unknown as { pushLog: typeof log }).pushLog = log;
    const b64url = (bytes: Uint8Array) =>
      btoa(String.fromCharCode(...bytes))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
    const fromB64url = (text: string) =>
      Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const subscription = (key: string) => ({
      endpoint: json.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: fromB64url(key).buffer },
      toJSON: () => json,
      unsubscribe: async () => {
        log.unsubscribed += 1;
        localStorage.removeItem(KEY);
        return true;
      },
    });
    PushManager.prototype.getSubscription = async () => {
      const key = localStorage.getItem(KEY);
      return (key ? subscription(key) : null) as unknown as PushSubscription;
    };
    PushManager.prototype.subscribe = async (options?: PushSubscriptionOptionsInit) => {
      const key = b64url(new Uint8Array(options?.applicationServerKey as Uint8Array));
      log.subscribe.push({ userVisibleOnly: options?.userVisibleOnly === true, key });
      localStorage.setItem(KEY, key);
      return subscription(key) as unknown as PushSubscription;
    };
  }, json);
}

const pushLog = (page: Page) =>
  page.evaluate(
    () =>
      (
        window as unknown as {
          pushLog: { subscribe: { userVisibleOnly: boolean; key: string }[]; unsubscribed: number };
        }
      ).pushLog,
  );

const isPushCall = (method: string) => (r: Request) =>
  r.method() === method && /\/v1\/devices\/[^/]+\/push$/.test(r.url());

describe("notifications on the chat page", () => {
  const person = browserPages();

  it("a push shows one notification per chat (sender, group title, preview); a click opens that chat", async () => {
    const { context, page } = await person("alice");
    const [aliceName, bob] = [unique("alice"), await user("bob")];
    await context.grantPermissions(["notifications"], { origin: base });
    const trip = await apiOf(bob).createGroup("Trip", [aliceName]);
    const direct = await apiOf(bob).createDirectChat(aliceName);
    await signIn(page, aliceName);
    const worker = await serviceWorker(context, page);
    const push = await pusher(context, page);

    // A push can reach a worker that is not handling events (Chromium then drops it, most often
    // the first, but under load any): each is delivered again, the same message, until shown.
    const deliver = async (data: string, shown: (n: ShownNotification[]) => boolean) => {
      for (let i = 0; i < 10 && !shown(await notifications(worker)); i++) {
        await push(data);
        await expect
          .poll(async () => shown(await notifications(worker)), { timeout: 2_000 })
          .toBe(true)
          .catch(() => {});
      }
    };
    const bodies = (n: ShownNotification[]) => n.map((n) => n.body);
    await deliver(payload({ chatId: trip, seq: 2, sender: bob.id, title: "Trip", body: "Train at 9" }), (n) =>
      bodies(n).includes("Train at 9"),
    );
    await expect
      .poll(() => notifications(worker), WAIT)
      .toEqual([
        { title: `${bob.id} in Trip`, body: "Train at 9", tag: trip, renotify: true, data: { chatId: trip, seq: 2 } },
      ]);
    // A newer message of the chat replaces its notification; another chat gets its own.
    await deliver(payload({ chatId: trip, seq: 3, sender: bob.id, title: "Trip", body: "Platform 4" }), (n) =>
      bodies(n).includes("Platform 4"),
    );
    await expect.poll(async () => bodies(await notifications(worker)), WAIT).toEqual(["Platform 4"]);
    await deliver(payload({ chatId: direct, seq: 1, sender: bob.id, kind: "attachment", body: "ticket.pdf" }), (n) =>
      n.some((n) => n.tag === direct),
    );
    await expect
      .poll(() => notifications(worker, direct), WAIT)
      .toEqual([
        { title: bob.id, body: "📎 ticket.pdf", tag: direct, renotify: true, data: { chatId: direct, seq: 1 } },
      ]);
    expect((await notifications(worker)).map((n) => n.tag).sort()).toEqual([trip, direct].sort());

    // Alice looks at the direct chat; a click on Trip's notification switches the page to Trip.
    await chatButton(page, bob.id).click();
    await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toBe(bob.id);
    await clickNotification(worker, trip);
    await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toBe("Trip");
    expect((await notifications(worker)).map((n) => n.tag)).toEqual([direct]);

    // A push the worker cannot read still shows something, as `userVisibleOnly` demands.
    await deliver("not json", (n) => n.some((n) => n.title === "edge-chat"));
    // Untagged, so a push delivered twice shows twice: the kinds shown are what counts.
    const shown = async () =>
      [...new Set((await notifications(worker)).map((n) => JSON.stringify([n.title, n.body, n.tag])))].sort();
    await expect
      .poll(shown, WAIT)
      .toEqual([JSON.stringify([bob.id, "📎 ticket.pdf", direct]), JSON.stringify(["edge-chat", "New message", ""])]);
  });

  it("a tab opened at /#chat=<id> (a click with no tab open) opens that chat once signed in", async () => {
    const { page } = await person("alice");
    const [aliceName, bob] = [unique("alice"), await user("bob")];
    const trip = await apiOf(bob).createGroup("Ski week", [aliceName]);
    await signIn(page, aliceName);
    await expect.poll(() => page.locator("#empty").isVisible(), WAIT).toBe(true);
    await page.goto("about:blank");
    await page.goto(`${base}/#chat=${encodeURIComponent(trip)}`);
    await connected(page);
    await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toBe("Ski week");
    expect(new URL(page.url()).hash).toBe("");
  });

  it("the chat header's Mute and Unmute call the mute routes, and the page remembers which", async () => {
    const { page } = await person("alice");
    const [aliceName, bob] = [unique("alice"), await user("bob")];
    const group = await apiOf(bob).createGroup("Noisy", [aliceName]);
    await signIn(page, aliceName);
    await chatButton(page, "Noisy").click();
    const muteCall = (method: string) => (r: Request) =>
      r.method() === method && r.url() === `${base}/v1/chats/${encodeURIComponent(group)}/mute`;

    const muted = page.waitForRequest(muteCall("PUT"), WAIT);
    await page.getByRole("button", { name: "Mute", exact: true }).click();
    expect((await muted).postDataJSON()).toEqual({ until: null });
    expect((await (await muted).response())?.status()).toBe(204);
    await page.getByRole("button", { name: "Unmute", exact: true }).waitFor(WAIT);
    await page.reload();
    await connected(page);
    await chatButton(page, "Noisy").click();
    const unmuted = page.waitForRequest(muteCall("DELETE"), WAIT);
    await page.getByRole("button", { name: "Unmute", exact: true }).click();
    expect((await (await unmuted).response())?.status()).toBe(204);
    await page.getByRole("button", { name: "Mute", exact: true }).waitFor(WAIT);
  });

  it("Enable notifications subscribes this device and the server pushes to it; Disable and sign-out unsubscribe", async () => {
    const service = await pushService();
    const { context, page } = await person("alice");
    try {
      const [aliceName, bob] = [unique("alice"), await user("bob")];
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const path = `/${unique("page")}`;
      const json: PushSubscriptionJson = {
        endpoint: `http://127.0.0.1:${service.port}${path}`,
        expirationTime: null,
        keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") },
      };
      await context.grantPermissions(["notifications"], { origin: base });
      await stubPushManager(page, json);
      const group = await apiOf(bob).createGroup("Bells", [aliceName]);
      await signIn(page, aliceName);
      const deviceId = await page.evaluate((name) => localStorage.getItem(`edge-chat:device:${name}`), aliceName);
      const serverKey = await apiOf(bob).pushKey();

      const toggle = page.locator("#push-toggle");
      const putRequest = page.waitForRequest(isPushCall("PUT"), WAIT);
      await page.getByRole("button", { name: "Enable notifications" }).click();
      const put = await putRequest;
      expect(put.url()).toBe(`${base}/v1/devices/${deviceId}/push`);
      expect(put.postDataJSON()).toEqual(json);
      expect((await put.response())?.status()).toBe(204);
      await expect.poll(() => toggle.getAttribute("aria-label"), WAIT).toBe("Disable notifications");
      expect(await toggle.textContent()).toBe("Disable notifications");
      expect((await pushLog(page)).subscribe).toEqual([{ userVisibleOnly: true, key: serverKey }]);

      // Alice closes the page: Bob's next message is pushed to the subscription the page gave the server.
      await page.goto("about:blank");
      await expect.poll(async () => (await apiOf(bob).presence(aliceName)).online, WAIT).toBe(false);
      const res = await fetch(`${base}/v1/chats/${encodeURIComponent(group)}/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${bob.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ clientMsgId: unique("m"), body: "ding" }),
      });
      expect(res.status).toBe(200);
      await until(() => service.received.some((p) => p.path === path), "a push to the page's subscription", 20_000);
      expect(service.received.find((p) => p.path === path)?.headers["content-encoding"]).toBe("aes128gcm");

      // Back on the page: it renews the subscription it kept, and shows notifications as on.
      const renewed = page.waitForRequest(isPushCall("PUT"), WAIT);
      await page.goto(base);
      await connected(page);
      expect((await renewed).postDataJSON()).toEqual(json);
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Disable notifications");
      expect((await pushLog(page)).subscribe).toEqual([]);

      // Disable: unsubscribed in the browser and on the server; Enable again subscribes again.
      const deleted = page.waitForResponse((r) => isPushCall("DELETE")(r.request()), WAIT);
      await page.getByRole("button", { name: "Disable notifications" }).click();
      expect((await deleted).status()).toBe(204);
      expect((await deleted).url()).toBe(`${base}/v1/devices/${deviceId}/push`);
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Enable notifications");
      expect((await pushLog(page)).unsubscribed).toBe(1);
      const again = page.waitForResponse((r) => isPushCall("PUT")(r.request()), WAIT);
      await page.getByRole("button", { name: "Enable notifications" }).click();
      expect((await again).status()).toBe(204);
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Disable notifications");

      // Sign-out ends this device's pushes too.
      const signedOut = page.waitForResponse((r) => isPushCall("DELETE")(r.request()), WAIT);
      await page.getByRole("button", { name: "Sign out" }).click();
      expect((await signedOut).status()).toBe(204);
      await page.getByLabel("Your name").waitFor(WAIT);
      expect(await page.evaluate(() => localStorage.getItem("test:push-subscription"))).toBeNull();
    } finally {
      await service.stop();
    }
  });
});
