/**
 * Privacy on the chat page, in Chromium against the real local server (harness:
 * test/e2e/web-pages.ts): block and unblock from a direct chat's header, the settings panel
 * (last seen, read receipts), ticks after a reload, and the one line a member added to a group
 * later sees for what was said before. Screenshots are saved in test-results/.
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { devToken } from "../../client";
import { base, client, closeClients, sendHttp, type TestUser, unique, user, waitOpen } from "./sdk-fixtures";
import { bodies, browserPages, chatButton, connected, RESULTS, send, signIn, WAIT } from "./web-pages";

/** A name the page signs in with, and a token for checking the server's side from the test. */
async function tokenFor(id: string): Promise<TestUser> {
  return { id, token: await devToken(base, id) };
}

async function startChat(page: Page, peer: string): Promise<void> {
  await page.getByLabel("Chat with").fill(peer);
  await page.getByRole("button", { name: "Start" }).click();
  await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toBe(peer);
}

async function api<T>(u: TestUser, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${u.token}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const tickOf = (page: Page, text: string) =>
  page
    .locator("#messages li.msg.mine")
    .filter({ has: page.getByText(text, { exact: true }) })
    .locator(".tick")
    .getAttribute("data-tick");

describe("privacy on the chat page", () => {
  const person = browserPages();

  it("Alice blocks Bob from the chat's header: his send shows an error line; after Unblock it arrives", async () => {
    const [alice, bob] = [await person("alice"), await person("bob")];
    const [aliceName, bobName] = [unique("alice"), unique("bob")];
    const [a, b] = [alice.page, bob.page];
    try {
      await signIn(a, aliceName);
      await signIn(b, bobName);
      await startChat(a, bobName);
      const toggle = a.locator("#block-toggle");
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Block");
      await a.getByRole("button", { name: `Block ${bobName}` }).click();
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Unblock");
      expect(await toggle.getAttribute("aria-pressed")).toBe("true");
      expect(await a.locator("#block-note").isVisible()).toBe(true);
      expect(await a.locator("#block-note").textContent()).toContain(`You blocked ${bobName}`);
      expect(await a.getByLabel("Message", { exact: true }).getAttribute("placeholder")).toBe(`You blocked ${bobName}`);
      expect(await api<{ userIds: string[] }>(await tokenFor(aliceName), "/v1/blocks")).toEqual({ userIds: [bobName] });

      await startChat(b, aliceName);
      await send(b, "can we talk?");
      await expect
        .poll(() => b.locator("#conv-error").textContent(), WAIT)
        .toBe(`Could not send the message: ${aliceName} does not take your messages.`);
      await b.locator("#messages li.msg.failed").filter({ hasText: "can we talk?" }).waitFor(WAIT);
      await a.screenshot({ path: join(RESULTS, "web-privacy-blocked.png") });
      await b.screenshot({ path: join(RESULTS, "web-privacy-refused.png") });

      // The block survives a reload (the page asks the server), and Unblock lifts it.
      await a.reload();
      await connected(a);
      await chatButton(a, bobName).click();
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Unblock");
      await toggle.click();
      await expect.poll(() => toggle.textContent(), WAIT).toBe("Block");
      expect(await a.locator("#block-note").isVisible()).toBe(false);
      await send(b, "hello again");
      await expect.poll(() => bodies(a), WAIT).toEqual(["hello again"]);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  it("the settings panel sets last seen (Bob's view of Alice's presence) and read receipts (no blue ticks)", async () => {
    const { page } = await person("alice");
    const alice = await tokenFor(unique("alice"));
    const bob = await user("bob");
    try {
      await signIn(page, alice.id);
      const chatId = await client(bob).client.createDirectChat(alice.id);
      expect(await api(bob, `/v1/users/${alice.id}/presence`)).toMatchObject({ online: true });

      await page.getByText("Privacy", { exact: true }).click();
      const lastSeen = page.getByLabel("Who sees when you were last online");
      await expect.poll(() => lastSeen.inputValue(), WAIT).toBe("chats");
      const saved = page.waitForResponse(
        (r) => r.url().endsWith("/v1/me/settings") && r.request().method() === "PATCH",
      );
      await lastSeen.selectOption({ label: "Nobody" });
      expect((await saved).status()).toBe(200);
      expect(await api(bob, `/v1/users/${alice.id}/presence`)).toEqual({
        userId: alice.id,
        online: false,
        lastSeen: null,
      });

      const receipts = page.getByLabel("Read receipts");
      expect(await receipts.isChecked()).toBe(true);
      const savedToo = page.waitForResponse(
        (r) => r.url().endsWith("/v1/me/settings") && r.request().method() === "PATCH",
      );
      await receipts.uncheck();
      expect((await savedToo).status()).toBe(200);
      expect(await api(alice, "/v1/me/settings")).toEqual({ lastSeen: "nobody", readReceipts: false });

      // Bob's message is read on Alice's page: he sees it delivered, never read.
      const { seq } = await sendHttp(bob, chatId, "read me");
      await chatButton(page, bob.id).click();
      await expect.poll(() => bodies(page), WAIT).toEqual(["read me"]);
      await expect
        .poll(async () => (await api<{ chats: { chatId: string; readSeq: number }[] }>(alice, "/v1/chats")).chats, WAIT)
        .toContainEqual(expect.objectContaining({ chatId, readSeq: seq }));
      const info = await api<{ delivered: string[]; read: string[] }>(
        bob,
        `/v1/chats/${chatId}/messages/${seq}/receipts`,
      );
      expect(info.read).toEqual([]);

      // The panel shows what the server keeps after a reload.
      await page.reload();
      await connected(page);
      await page.getByText("Privacy", { exact: true }).click();
      await expect.poll(() => lastSeen.inputValue(), WAIT).toBe("nobody");
      expect(await receipts.isChecked()).toBe(false);
      await page.screenshot({ path: join(RESULTS, "web-privacy-settings.png") });
    } finally {
      closeClients();
    }
  });

  it("ticks of own messages come back after a reload, without asking message by message", async () => {
    const { page } = await person("alice");
    const aliceName = unique("alice");
    const bob = await user("bob");
    const b = client(bob);
    try {
      await signIn(page, aliceName);
      await startChat(page, bob.id);
      await send(page, "first");
      await send(page, "second");
      b.client.connect();
      await waitOpen(b.rec);
      await expect.poll(() => b.rec.messages.map((m) => m.body), WAIT).toEqual(["first", "second"]);
      const first = b.rec.messages[0]?.seq ?? 0;
      b.client.markRead(b.rec.messages[0]?.chatId ?? "", first);
      await expect.poll(() => tickOf(page, "first"), WAIT).toBe("read");
      await expect.poll(() => tickOf(page, "second"), WAIT).toBe("delivered");

      const asked: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/receipts")) asked.push(r.url());
      });
      await page.reload();
      await connected(page);
      await chatButton(page, bob.id).click();
      await expect.poll(() => tickOf(page, "second"), WAIT).toBe("delivered");
      expect(await tickOf(page, "first")).toBe("read");

      // Without the watermarks the SDK kept: they come from the server (`ready`, the chat list).
      await page.evaluate(() => {
        for (const key of Object.keys(localStorage)) if (key.endsWith(":ticks")) localStorage.removeItem(key);
      });
      await page.reload();
      await connected(page);
      await chatButton(page, bob.id).click();
      await expect.poll(() => tickOf(page, "second"), WAIT).toBe("delivered");
      expect(await tickOf(page, "first")).toBe("read");
      expect(asked).toEqual([]);
    } finally {
      closeClients();
    }
  });

  it("a member added to a group later sees one line for what was said before it joined, and per run it missed", async () => {
    // Once removed, the page's look at the group's members is refused (403), as for any non-member.
    const { page } = await person("cat", [/status of 403 \(Forbidden\)/]);
    const catName = unique("cat");
    const [alice, bob] = [await user("alice"), await user("bob")];
    const a = client(alice);
    try {
      const chatId = await a.client.createGroup("Book club", [bob.id]);
      for (const body of ["one", "two", "three"]) await sendHttp(alice, chatId, body);
      await a.client.api.addMember(chatId, catName);
      await sendHttp(alice, chatId, "welcome, cat");
      await signIn(page, catName);
      await chatButton(page, "Book club").click();
      await expect.poll(() => bodies(page), WAIT).toEqual(["welcome, cat"]);
      const lines = () => page.locator("#messages li.msg.system").allTextContents();
      await expect.poll(lines, WAIT).toEqual(["Messages before you joined are hidden", `${alice.id} added you`]);
      expect(await page.locator("#messages li.hidden-run").count()).toBe(1);
      // After a reload the page's history and the SDK's catch-up both bring the run: still one line.
      await page.reload();
      await connected(page);
      await chatButton(page, "Book club").click();
      await expect.poll(() => bodies(page), WAIT).toEqual(["welcome, cat"]);
      expect(await page.locator("#messages li.hidden-run").count()).toBe(1);

      // Live, with the chat open: cat is removed, misses two messages, and is added again. The
      // SDK's catch-up brings the run it missed, shown as a second line in its place.
      await a.client.api.removeMember(chatId, catName);
      await expect.poll(lines, WAIT).toContain(`${alice.id} removed you`);
      for (const body of ["while cat was out", "still out"]) await sendHttp(alice, chatId, body);
      await a.client.api.addMember(chatId, catName);
      await sendHttp(alice, chatId, "back again");
      await expect.poll(() => bodies(page), WAIT).toEqual(["welcome, cat", "back again"]);
      await expect
        .poll(lines, WAIT)
        .toEqual([
          "Messages before you joined are hidden",
          `${alice.id} added you`,
          `${alice.id} removed you`,
          "Messages before you joined are hidden",
          `${alice.id} added you`,
        ]);
      await page.screenshot({ path: join(RESULTS, "web-privacy-hidden.png") });
    } finally {
      closeClients();
    }
  });
});
