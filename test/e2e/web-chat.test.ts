/**
 * The chat page in a real browser (Chromium, found as test/e2e/browser.ts says, driven by
 * playwright-core; the harness is test/e2e/web-pages.ts) against the real local server: two
 * people chat, ticks turn blue, one goes offline and catches up. Without a browser these tests
 * fail; they never skip. An uncaught exception or a console error on any page fails the test it
 * happened in. Screenshots of both pages are saved in test-results/.
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { client, unique, user } from "./sdk-fixtures";
import { bodies, browserPages, chatButton, connected, RESULTS, send, signIn, WAIT } from "./web-pages";

const ownTicks = (page: Page) =>
  page.locator("#messages li.mine .tick").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.tick));

describe("chat page in Chromium", () => {
  const person = browserPages();

  it("Alice and Bob chat: ticks turn blue when Bob sees it; Bob goes offline and catches up in order", async () => {
    const [alice, bob] = [await person("alice"), await person("bob")];
    const [aliceName, bobName] = [unique("alice"), unique("bob")];
    const [a, b] = [alice.page, bob.page];
    try {
      await signIn(a, aliceName);
      await signIn(b, bobName);

      await a.getByLabel("Chat with").fill(bobName);
      await a.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => a.locator("#chat-title").textContent(), WAIT).toBe(bobName);
      await send(a, "Hello Bob!");

      // Bob's device holds it (double tick) and lists the chat with an unread badge; opening it reads it.
      const aliceChat = chatButton(b, aliceName);
      await expect.poll(() => aliceChat.locator(".badge").textContent(), WAIT).toBe("1");
      await expect.poll(() => ownTicks(a), WAIT).toEqual(["delivered"]);
      await aliceChat.click();
      await expect.poll(() => bodies(b), WAIT).toEqual(["Hello Bob!"]);
      await expect.poll(() => ownTicks(a), WAIT).toEqual(["read"]);
      await expect.poll(() => aliceChat.locator(".badge").isHidden(), WAIT).toBe(true);
      await expect.poll(() => a.locator("#chat-sub").textContent(), WAIT).toBe("online");

      // Typing shows on the other side.
      await b.getByLabel("Message", { exact: true }).pressSequentially("typing", { delay: 10 });
      await expect.poll(() => a.locator("#typing").textContent(), WAIT).toBe(`${bobName} is typing…`);
      await b.getByLabel("Message", { exact: true }).fill("");

      // Bob goes offline; Alice's next three stay at a single tick.
      await bob.context.setOffline(true);
      await expect.poll(() => b.locator("#conn").textContent(), WAIT).toBe("offline");
      for (const text of ["one", "two", "three"]) await send(a, text);
      await expect.poll(() => ownTicks(a), WAIT).toEqual(["read", "sent", "sent", "sent"]);
      expect(await bodies(b)).toEqual(["Hello Bob!"]);

      // Back online: Bob gets all three, in order, and reading them turns Alice's ticks blue.
      await bob.context.setOffline(false);
      await expect.poll(() => bodies(b), WAIT).toEqual(["Hello Bob!", "one", "two", "three"]);
      await expect.poll(() => ownTicks(a), WAIT).toEqual(["read", "read", "read", "read"]);
      await send(b, "Got them all!");
      await expect.poll(() => bodies(a), WAIT).toEqual(["Hello Bob!", "one", "two", "three", "Got them all!"]);
    } finally {
      await a.screenshot({ path: join(RESULTS, "web-alice.png") });
      await b.screenshot({ path: join(RESULTS, "web-bob.png") });
    }
  });

  it("older history loads on scroll-up, in order", async () => {
    const [sender, reader] = [await user("carol"), await user("dave")];
    const { page } = await person("dave");
    await signIn(page, reader.id);
    // Carol sends through the SDK: pipelined on one socket, stored in the order sent.
    const carol = client(sender);
    const chatId = await carol.client.createDirectChat(reader.id);
    carol.client.connect();
    await Promise.all(Array.from({ length: 80 }, (_, i) => carol.client.send(chatId, `note ${i + 1}`)));
    carol.client.close();
    const carolChat = chatButton(page, sender.id);
    await expect.poll(() => carolChat.locator(".badge").textContent(), WAIT).toBe("80");

    // After a reload the page holds no messages; the device's cursor says it has them all.
    await page.reload();
    await connected(page);
    await carolChat.click();
    const expected = Array.from({ length: 80 }, (_, i) => `note ${i + 1}`);
    await expect.poll(() => bodies(page), WAIT).toEqual(expected.slice(30));
    await expect
      .poll(async () => {
        await page.locator("#messages").evaluate((el) => el.scrollTo({ top: 0 }));
        return bodies(page);
      }, WAIT)
      .toEqual(expected);
    await page.screenshot({ path: join(RESULTS, "web-history.png") });
  });
});
