/**
 * Replies, edits, deletes for everyone, reactions and unread badges on the chat page, in
 * Chromium against the real local server (harness: test/e2e/web-pages.ts). Two people on two
 * pages see each change live, and again after both pages reload; a chat's badge counts only
 * the texts of others that are still there. Screenshots are saved in test-results/.
 */
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { base, client, closeClients, type TestUser, unique, user, waitOpen } from "./sdk-fixtures";
import { browserPages, chatButton, connected, RESULTS, send, signIn, WAIT } from "./web-pages";

/** The message with this seq on the page. */
const msg = (page: Page, seq: number) => page.locator(`#messages li.msg[data-seq="${seq}"]`);

/** The seq of the stored message whose text is `text` (once its ack has arrived). */
async function seqOf(page: Page, text: string): Promise<number> {
  const li = page.locator("#messages li.msg[data-seq]").filter({ has: page.getByText(text, { exact: true }) });
  await li.waitFor(WAIT);
  return Number(await li.getAttribute("data-seq"));
}

/** Clicks one of a message's actions (they show while the pointer is over the message). */
async function act(li: Locator, action: "Reply" | "React" | "Edit" | "Delete"): Promise<void> {
  await li.hover();
  await li.getByRole("button", { name: action, exact: true }).click();
}

/** Whether the message is inside the visible part of the scrolled message list. */
const inView = (li: Locator) =>
  li.evaluate((el) => {
    const list = (el.closest("#messages") as HTMLElement).getBoundingClientRect();
    const box = el.getBoundingClientRect();
    return box.top >= list.top - 1 && box.bottom <= list.bottom + 1;
  });

/** The reaction chips under a message: emoji, count and who (the title). */
const chips = (li: Locator) =>
  li.locator(".reaction").evaluateAll((els) =>
    els.map((e) => ({
      emoji: (e as HTMLElement).dataset.emoji,
      count: e.querySelector(".count")?.textContent,
      title: e.getAttribute("title"),
    })),
  );

const quoteOf = (li: Locator) => li.locator(".quote").textContent();

/** The chat's unread count as `GET /v1/chats` gives it to `u`. */
async function serverUnread(u: TestUser, chatId: string): Promise<number | undefined> {
  const res = await fetch(`${base}/v1/chats`, { headers: { Authorization: `Bearer ${u.token}` } });
  const { chats } = (await res.json()) as { chats: { chatId: string; unread: number }[] };
  return chats.find((s) => s.chatId === chatId)?.unread;
}

describe("message changes on the chat page", () => {
  const person = browserPages();

  it("Bob replies, Alice edits, Bob reacts, Alice deletes: each side sees it live and after a reload", async () => {
    const [alice, bob] = [await person("alice"), await person("bob")];
    const [aliceName, bobName] = [unique("alice"), unique("bob")];
    const [a, b] = [alice.page, bob.page];
    try {
      await signIn(a, aliceName);
      await signIn(b, bobName);
      await a.getByLabel("Chat with").fill(bobName);
      await a.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => a.locator("#chat-title").textContent(), WAIT).toBe(bobName);

      // Enough messages after the first that it scrolls out of view.
      await send(a, "Lunch at noon tomorrow?");
      const lunch = await seqOf(a, "Lunch at noon tomorrow?");
      for (let i = 1; i <= 14; i++) await send(a, `filler ${i}`);
      await send(a, "Oops, wrong chat");
      const oops = await seqOf(a, "Oops, wrong chat");

      // Bob replies to the first one; the composer shows what he is replying to.
      await chatButton(b, aliceName).click();
      await msg(b, oops).waitFor(WAIT);
      await act(msg(b, lunch), "Reply");
      await expect.poll(() => b.locator("#composer-context").textContent(), WAIT).toContain("Lunch at noon tomorrow?");
      await expect.poll(() => b.locator("#composer-context").textContent()).toContain(`Replying to ${aliceName}`);
      await b.screenshot({ path: join(RESULTS, "web-changes-replying.png") });
      await send(b, "Sure, where?");
      await expect.poll(() => b.locator("#composer-context").isHidden()).toBe(true);

      // Alice sees the quote live; clicking it brings her message back into view, highlighted.
      const reply = await seqOf(a, "Sure, where?");
      expect(await quoteOf(msg(a, reply))).toBe("YouLunch at noon tomorrow?");
      expect(await quoteOf(msg(b, reply))).toBe(`${aliceName}Lunch at noon tomorrow?`);
      expect(await inView(msg(a, lunch))).toBe(false);
      await msg(a, reply).locator(".quote").click();
      await expect.poll(() => inView(msg(a, lunch)), WAIT).toBe(true);
      await expect.poll(() => msg(a, lunch).getAttribute("class")).toContain("highlight");

      // Alice starts an edit and cancels it with Escape; then edits for real.
      const box = a.getByLabel("Message", { exact: true });
      await act(msg(a, lunch), "Edit");
      expect(await box.inputValue()).toBe("Lunch at noon tomorrow?");
      await box.press("Escape");
      expect(await box.inputValue()).toBe("");
      expect(await a.locator("#composer-context").isHidden()).toBe(true);
      await act(msg(a, lunch), "Edit");
      await box.fill("Lunch at one tomorrow?");
      await box.press("Enter");

      // Bob sees the new text, the "edited" label and the new text in his reply's quote, live.
      await expect.poll(() => msg(b, lunch).locator(".body").textContent(), WAIT).toBe("Lunch at one tomorrow?");
      expect(await msg(b, lunch).locator(".edited").textContent()).toBe("edited");
      expect(await quoteOf(msg(b, reply))).toBe(`${aliceName}Lunch at one tomorrow?`);
      expect(await msg(a, lunch).locator(".edited").textContent()).toBe("edited");

      // Bob reacts: Alice sees one chip, with Bob's name in its title. Another emoji replaces
      // his; clicking his own chip takes it back; then 👍 again.
      const pick = async (emoji: string) => {
        await act(msg(b, lunch), "React");
        if (emoji === "❤️") await b.screenshot({ path: join(RESULTS, "web-changes-picker.png") });
        await b.getByRole("button", { name: `React with ${emoji}` }).click();
        await expect.poll(() => chips(msg(b, lunch)), WAIT).toEqual([{ emoji, count: "1", title: "you" }]);
      };
      await pick("👍");
      await expect.poll(() => chips(msg(a, lunch)), WAIT).toEqual([{ emoji: "👍", count: "1", title: bobName }]);
      await pick("❤️");
      await expect.poll(() => chips(msg(a, lunch)), WAIT).toEqual([{ emoji: "❤️", count: "1", title: bobName }]);
      await msg(b, lunch).locator(".reaction").click();
      await expect.poll(() => chips(msg(a, lunch)), WAIT).toEqual([]);
      await expect.poll(() => chips(msg(b, lunch)), WAIT).toEqual([]);
      await pick("👍");
      await expect.poll(() => chips(msg(a, lunch)), WAIT).toEqual([{ emoji: "👍", count: "1", title: bobName }]);

      // Alice deletes her last message for everyone, after saying yes.
      await act(msg(a, oops), "Delete");
      await a.getByRole("button", { name: "Cancel", exact: true }).click();
      expect(await msg(a, oops).locator(".body").textContent()).toBe("Oops, wrong chat");
      await act(msg(a, oops), "Delete");
      await a.screenshot({ path: join(RESULTS, "web-changes-confirm-delete.png") });
      await a.getByRole("button", { name: "Delete for everyone" }).click();
      await expect.poll(() => msg(b, oops).locator(".body").textContent(), WAIT).toBe("This message was deleted");
      expect(await msg(b, oops).locator(".body em").count()).toBe(1);
      await expect.poll(() => msg(a, oops).locator(".body").textContent(), WAIT).toBe("This message was deleted");
      await a.screenshot({ path: join(RESULTS, "web-changes-alice.png") });
      await b.screenshot({ path: join(RESULTS, "web-changes-bob.png") });

      // After a reload each page shows all of it again, from the server's history.
      for (const [page, title, me] of [
        [a, bobName, "You"],
        [b, aliceName, aliceName],
      ] as const) {
        await page.reload();
        await connected(page);
        await chatButton(page, title).click();
        await msg(page, oops).waitFor(WAIT);
        expect(await msg(page, lunch).locator(".body").textContent()).toBe("Lunch at one tomorrow?");
        expect(await msg(page, lunch).locator(".edited").textContent()).toBe("edited");
        expect(await quoteOf(msg(page, reply))).toBe(`${me}Lunch at one tomorrow?`);
        expect(await msg(page, oops).locator(".body").textContent()).toBe("This message was deleted");
        expect(await msg(page, oops).locator(".edited").count()).toBe(0);
      }
      expect(await chips(msg(a, lunch))).toEqual([{ emoji: "👍", count: "1", title: bobName }]);
      expect(await chips(msg(b, lunch))).toEqual([{ emoji: "👍", count: "1", title: "you" }]);
      for (const page of [a, b]) await page.locator("#messages").evaluate((el) => el.scrollTo({ top: 0 }));
    } finally {
      await a.screenshot({ path: join(RESULTS, "web-changes-alice-reloaded.png") });
      await b.screenshot({ path: join(RESULTS, "web-changes-bob-reloaded.png") });
    }
  });

  it("the badge of a chat Bob is not looking at counts others' texts still there, and clears when he opens it", async () => {
    const [carol, bob] = [await user("carol"), await user("bob")];
    const { page } = await person("bob");
    try {
      await signIn(page, bob.id);
      // Bob looks at another chat meanwhile.
      await page.getByLabel("Chat with").fill(unique("dave"));
      await page.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => page.locator("#chat-title").textContent(), WAIT).toMatch(/^dave-/);

      const c = client(carol);
      const chatId = await c.client.createDirectChat(bob.id);
      c.client.connect();
      await waitOpen(c.rec);
      const one = await c.client.send(chatId, "one");
      await c.client.send(chatId, "two");
      const three = await c.client.send(chatId, "three");
      await c.client.edit(chatId, one.seq, "one, edited");
      await c.client.react(chatId, one.seq, "👍");
      await c.client.deleteForEveryone(chatId, three.seq);
      await c.client.send(chatId, "four");

      // Texts one, two and four are unread; the edit, the reaction and the delete are not, and
      // three was deleted. The preview shows "four": every entry before it was counted too.
      const carolChat = chatButton(page, carol.id);
      await expect.poll(() => carolChat.locator(".preview").textContent(), WAIT).toBe("four");
      expect(await carolChat.locator(".badge").textContent()).toBe("3");
      expect(await carolChat.locator(".badge").getAttribute("aria-label")).toBe("3 unread");

      // After a reload the count is the server's.
      await page.reload();
      await connected(page);
      await expect.poll(() => carolChat.locator(".badge").textContent(), WAIT).toBe("3");

      // Opening the chat reads it: the badge goes, and stays gone after another reload.
      await carolChat.click();
      await expect.poll(() => carolChat.locator(".badge").isHidden(), WAIT).toBe(true);
      await expect.poll(() => serverUnread(bob, chatId), WAIT).toBe(0);
      await page.reload();
      await connected(page);
      await carolChat.waitFor(WAIT);
      expect(await carolChat.locator(".badge").isHidden()).toBe(true);

      // With no chat open, a new text from Carol counts again, live.
      await c.client.send(chatId, "five");
      await expect.poll(() => carolChat.locator(".preview").textContent(), WAIT).toBe("five");
      expect(await carolChat.locator(".badge").textContent()).toBe("1");
    } finally {
      await page.screenshot({ path: join(RESULTS, "web-changes-unread.png") });
      closeClients();
    }
  });
});
