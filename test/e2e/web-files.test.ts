/**
 * Photos and files on the chat page, in Chromium against the real local server (harness:
 * test/e2e/web-pages.ts). Alice sends a photo with a caption through the attach button, with a
 * progress bar while it goes up; Bob sees it inline, from a blob: URL, and full size; Bob drops
 * a PDF on the conversation; Alice downloads it, byte for byte. A refused type and a file the
 * server refuses say why in words and leave nothing sent. All of it again after a reload, then
 * a deleted photo. Screenshots are saved in test-results/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { base, type TestUser, unique, user } from "./sdk-fixtures";
import { browserPages, chatButton, connected, FIXTURES, RESULTS, signIn, WAIT } from "./web-pages";

const PNG = readFileSync(join(FIXTURES, "photo.png"));
const PDF = readFileSync(join(FIXTURES, "report.pdf"));
/** The fixture photo's size in pixels. */
const PNG_WIDTH = 48;

const stored = (page: Page) => page.locator("#messages li.msg[data-seq]");
const photoOf = (li: Locator) => li.locator("img.photo");

/** The photo's src and natural width once it is loaded (0 while it is not). */
const photoState = (li: Locator) =>
  photoOf(li).evaluate((img: HTMLImageElement) => ({ blob: img.src.startsWith("blob:"), width: img.naturalWidth }));

/** An upload: the POST of a file's bytes. */
const isUpload = (url: URL) => /^\/v1\/chats\/[^/]+\/attachments$/.test(url.pathname);

/** The stored message that has a photo / a file link. */
const withPhoto = (page: Page) => stored(page).filter({ has: page.locator("img.photo") });
const withFile = (page: Page) => stored(page).filter({ has: page.locator(".file-link") });

/** An HTTP call as `u`; answers the JSON body. */
async function api<T>(u: TestUser, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The chat's stored attachment messages, as the server gives them to `u`. */
async function serverAttachments(u: TestUser, chatId: string) {
  const res = await fetch(`${base}/v1/chats/${chatId}/messages?after=0`, {
    headers: { Authorization: `Bearer ${u.token}` },
  });
  const { messages } = (await res.json()) as {
    messages: { kind: string; body: string; attachment?: { name: string; size: number; contentType: string } }[];
  };
  return messages.filter((m) => m.kind === "attachment").map(({ body, attachment }) => ({ body, attachment }));
}

describe("photos and files on the chat page", () => {
  const person = browserPages();

  it("a photo with a caption and a dropped PDF: shown, opened, downloaded, refused types said in words, after a reload too", async () => {
    const [alice, bob] = [await person("alice"), await person("bob")];
    const [aliceUser, bobUser] = [await user("alice"), await user("bob")];
    const [a, b] = [alice.page, bob.page];
    try {
      await signIn(a, aliceUser.id);
      await signIn(b, bobUser.id);
      await a.getByLabel("Chat with").fill(bobUser.id);
      await a.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => a.locator("#chat-title").textContent(), WAIT).toBe(bobUser.id);
      const chatId = String(await chatButton(a, bobUser.id).getAttribute("data-chat-id"));

      // Alice writes a caption, then picks the photo. The upload is held until the test has
      // seen its progress bar.
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await a.route(isUpload, async (route) => {
        await held;
        await route.continue();
      });
      const box = a.getByLabel("Message", { exact: true });
      await box.fill("Sunset from the roof");
      await a.getByRole("button", { name: "Attach a file" }).waitFor(WAIT);
      await a.locator("#attach-input").setInputFiles(join(FIXTURES, "photo.png"));
      const bar = a.getByRole("progressbar", { name: "Sending photo.png" });
      await bar.waitFor(WAIT);
      expect(Number(await bar.getAttribute("aria-valuenow"))).toBeGreaterThanOrEqual(0);
      expect(await box.inputValue()).toBe("");
      await a.screenshot({ path: join(RESULTS, "web-files-uploading.png") });
      release();

      // Alice's own photo replaces the pending bubble; Bob sees it inline with the caption.
      await expect.poll(() => withPhoto(a).count(), WAIT).toBe(1);
      await expect.poll(() => a.locator("#messages li.pending").count(), WAIT).toBe(0);
      await expect.poll(() => photoState(withPhoto(a)), WAIT).toEqual({ blob: true, width: PNG_WIDTH });
      await chatButton(b, aliceUser.id).click();
      await withPhoto(b).waitFor(WAIT);
      await expect.poll(() => photoState(withPhoto(b)), WAIT).toEqual({ blob: true, width: PNG_WIDTH });
      expect(await withPhoto(b).locator(".body").textContent()).toBe("Sunset from the roof");
      expect(await photoOf(withPhoto(b)).getAttribute("alt")).toBe("photo.png");
      expect(await chatButton(b, aliceUser.id).locator(".preview").textContent()).toBe("📷 Sunset from the roof");

      // A click shows it full size; the close button closes it.
      await b.getByRole("button", { name: "Show photo.png full size" }).click();
      const full = b.locator("#lightbox img");
      await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth), WAIT).toBe(PNG_WIDTH);
      expect(await full.getAttribute("src")).toMatch(/^blob:/);
      await b.screenshot({ path: join(RESULTS, "web-files-lightbox.png") });
      await b.getByRole("button", { name: "Close", exact: true }).click();
      await expect.poll(() => b.locator("#lightbox").isVisible()).toBe(false);

      // Bob drags the PDF onto the conversation: it shows where to drop, then sends it.
      const files = await b.evaluateHandle(
        (bytes) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], "report.pdf", { type: "application/pdf" }));
          return transfer;
        },
        [...PDF],
      );
      await b.locator("#messages").dispatchEvent("dragenter", { dataTransfer: files });
      await expect.poll(() => b.locator("#drop-hint").isVisible()).toBe(true);
      await b.screenshot({ path: join(RESULTS, "web-files-drop.png") });
      await b.locator("#messages").dispatchEvent("drop", { dataTransfer: files });
      await expect.poll(() => b.locator("#drop-hint").isVisible()).toBe(false);

      // Alice sees a named link with the size, and downloads the very bytes.
      const link = withFile(a).getByRole("button", { name: `Download report.pdf, ${PDF.length} B` });
      await link.waitFor(WAIT);
      expect(await link.textContent()).toBe(`📄report.pdf · ${PDF.length} B`);
      const [download] = await Promise.all([a.waitForEvent("download", WAIT), link.click()]);
      expect(download.suggestedFilename()).toBe("report.pdf");
      const saved = join(RESULTS, "web-files-downloaded.pdf");
      await download.saveAs(saved);
      expect(readFileSync(saved).equals(PDF)).toBe(true);

      // A type the server does not take: said in words, nothing goes up, the caption stays.
      const uploads: string[] = [];
      a.on("request", (r) => {
        if (r.method() === "POST" && isUpload(new URL(r.url()))) uploads.push(r.url());
      });
      await box.fill("my installer");
      const exe = { name: "setup.exe", mimeType: "application/x-msdownload", buffer: Buffer.from("MZ\x90\x00") };
      await a.locator("#attach-input").setInputFiles(exe);
      await expect
        .poll(() => a.locator("#conv-error").textContent(), WAIT)
        .toContain("Files of type application/x-msdownload are not accepted");
      await a.screenshot({ path: join(RESULTS, "web-files-refused-type.png") });
      expect(await box.inputValue()).toBe("my installer");
      expect(await a.locator("#messages li.pending").count()).toBe(0);
      expect(uploads).toEqual([]);

      // A file over 100 MiB (made in the page: only its size matters), dropped: the same.
      const huge = await a.evaluateHandle(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(104_857_601)], "film.mp4", { type: "video/mp4" }));
        return transfer;
      });
      await a.locator("#messages").dispatchEvent("drop", { dataTransfer: huge });
      await expect
        .poll(() => a.locator("#conv-error").textContent(), WAIT)
        .toBe("That file is too large: at most 100 MiB (film.mp4).");
      await huge.dispose();
      expect(await a.locator("#messages li.pending").count()).toBe(0);
      expect(uploads).toEqual([]);

      expect(await serverAttachments(aliceUser, chatId)).toMatchObject([
        { body: "Sunset from the roof", attachment: { name: "photo.png", size: PNG.length, contentType: "image/png" } },
        { body: "", attachment: { name: "report.pdf", size: PDF.length, contentType: "application/pdf" } },
      ]);
      expect(await stored(a).count()).toBe(2);

      // After a reload both pages show the photo (loaded again) and the file.
      for (const [page, title] of [
        [a, bobUser.id],
        [b, aliceUser.id],
      ] as const) {
        await page.reload();
        await connected(page);
        await chatButton(page, title).click();
        await withPhoto(page).waitFor(WAIT);
        await expect.poll(() => photoState(withPhoto(page)), WAIT).toEqual({ blob: true, width: PNG_WIDTH });
        expect(await withPhoto(page).locator(".body").textContent()).toBe("Sunset from the roof");
        expect(await withFile(page).locator(".file-link").textContent()).toBe(`📄report.pdf · ${PDF.length} B`);
        expect(await page.locator("#messages li.pending").count()).toBe(0);
      }
      await a.screenshot({ path: join(RESULTS, "web-files-alice-reloaded.png") });
      await b.screenshot({ path: join(RESULTS, "web-files-bob-reloaded.png") });

      // Alice deletes the photo for everyone: Bob sees the words in its place, no photo.
      const photoSeq = await withPhoto(a).getAttribute("data-seq");
      await withPhoto(a).hover();
      await withPhoto(a).getByRole("button", { name: "Delete", exact: true }).click();
      await a.getByRole("button", { name: "Delete for everyone" }).click();
      const gone = b.locator(`#messages li.msg[data-seq="${photoSeq}"]`);
      await expect.poll(() => gone.locator(".body").textContent(), WAIT).toBe("This message was deleted");
      expect(await gone.locator("img").count()).toBe(0);
      expect(await gone.textContent()).not.toContain("Sunset");
    } finally {
      await a.screenshot({ path: join(RESULTS, "web-files-alice.png") });
      await b.screenshot({ path: join(RESULTS, "web-files-bob.png") });
    }
  });

  it("an upload the server refuses (Alice was removed from the group): its words, and no bubble left", async () => {
    const [aliceUser, bobUser] = [await user("alice"), await user("bob")];
    // The browser logs each refused request (the chat's details, then the upload) as an error.
    const { page } = await person("alice", [/status of 403 \(Forbidden\)/]);
    try {
      await signIn(page, aliceUser.id);
      const chatId = await api<{ chatId: string }>(bobUser, "POST", "/v1/chats", {
        type: "group",
        title: unique("Trip"),
        members: [aliceUser.id],
      }).then((r) => r.chatId);
      const group = page.locator(`button.chat[data-chat-id="${chatId}"]`);
      await group.click(WAIT);
      await expect.poll(() => page.locator("#chat-sub").textContent(), WAIT).toContain("2 members");
      await api(bobUser, "DELETE", `/v1/chats/${chatId}/members/${aliceUser.id}`);
      await expect.poll(() => page.locator("#messages li.system").last().textContent(), WAIT).toContain("removed you");

      await page.locator("#attach-input").setInputFiles(join(FIXTURES, "photo.png"));
      await expect
        .poll(() => page.locator("#conv-error").textContent(), WAIT)
        .toBe("Could not send photo.png: not a member of this chat");
      await expect.poll(() => page.locator("#messages li.pending").count(), WAIT).toBe(0);
      expect(await page.locator("#messages img").count()).toBe(0);
    } finally {
      await page.screenshot({ path: join(RESULTS, "web-files-refused-by-server.png") });
    }
  });

  it("after a reload, a queued file is sent and shown; queued edits, reactions and deletes are applied, never shown as text bubbles", async () => {
    const [aliceUser, bobUser] = [await user("alice"), await user("bob")];
    const { page } = await person("alice");
    try {
      await signIn(page, aliceUser.id);
      await page.getByLabel("Chat with").fill(bobUser.id);
      await page.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toBe(bobUser.id);
      const box = page.getByLabel("Message", { exact: true });
      for (const text of ["first", "second"]) {
        await box.fill(text);
        await box.press("Enter");
      }
      await expect.poll(() => stored(page).count(), WAIT).toBe(2);
      const seqs = await stored(page).evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));
      const [first = 0, second = 0] = seqs;
      const chatId = String(await chatButton(page, bobUser.id).getAttribute("data-chat-id"));
      // A file uploaded, whose message was not acknowledged before the reload.
      const res = await fetch(`${base}/v1/chats/${chatId}/attachments?name=queued.png`, {
        method: "POST",
        headers: { Authorization: `Bearer ${aliceUser.token}`, "Content-Type": "image/png" },
        body: PNG,
      });
      expect(res.status).toBe(201);
      const attachment = await res.json();

      // The outbox as a reload finds it when these were sent but not acknowledged before it.
      await page.evaluate(
        ({ me, chatId, first, second, attachment }) => {
          const device = localStorage.getItem(`edge-chat:device:${me}`);
          const entry = (clientMsgId: string, kind: string, body: string, target?: number) => ({
            chatId,
            clientMsgId,
            body,
            kind,
            target,
          });
          localStorage.setItem(
            `edge-chat:${me}:${device}:outbox`,
            JSON.stringify([
              entry("queued-edit-1", "edit", "first, edited", first),
              entry("queued-react-1", "reaction", "👍", first),
              entry("queued-delete-1", "delete", "", second),
              { ...entry("queued-file-1", "attachment", "queued caption"), attachment },
            ]),
          );
        },
        { me: aliceUser.id, chatId, first, second, attachment },
      );
      // The socket is held shut after the reload, so the chat opens while all of it still waits:
      // only the file shows as pending.
      let letThrough = false;
      await page.routeWebSocket(/\/v1\/connect/, (ws) => {
        if (letThrough) ws.connectToServer();
        else ws.close();
      });
      await page.reload();
      await chatButton(page, bobUser.id).click();
      const row = (seq: number) => page.locator(`#messages li.msg[data-seq="${seq}"]`);
      await row(second).waitFor(WAIT);
      const waiting = page.locator("#messages li.pending");
      await expect.poll(() => waiting.count(), WAIT).toBe(1);
      expect(await waiting.locator(".file-name").textContent()).toBe("queued.png");
      expect(await waiting.locator(".body").textContent()).toBe("queued caption");
      expect(await row(first).locator(".body").textContent()).toBe("first");
      await page.screenshot({ path: join(RESULTS, "web-files-queued-waiting.png") });
      letThrough = true;
      await connected(page);
      await expect.poll(() => row(first).locator(".body").textContent(), WAIT).toBe("first, edited");
      await expect.poll(() => row(first).locator(".reaction").count(), WAIT).toBe(1);
      await expect.poll(() => row(second).locator(".body").textContent(), WAIT).toBe("This message was deleted");
      await withPhoto(page).waitFor(WAIT);
      await expect.poll(() => photoState(withPhoto(page)), WAIT).toEqual({ blob: true, width: PNG_WIDTH });
      expect(await withPhoto(page).locator(".body").textContent()).toBe("queued caption");
      expect(await page.locator("#messages li.pending").count()).toBe(0);
      expect(await page.locator("#messages li.msg").count()).toBe(3);
    } finally {
      await page.screenshot({ path: join(RESULTS, "web-files-queued.png") });
    }
  });
});
