/**
 * The harness of the browser tests: one Chromium (found as test/e2e/browser.ts says, driven by
 * playwright-core) per test file, an isolated context per person, and a check after each test
 * that no page had an uncaught exception or a console error. Without a browser the tests fail,
 * never skip: the first `person()` launches it, inside a test (a failing beforeAll would leave
 * them reported as skipped).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { chromiumPath } from "./browser";
import { base } from "./sdk-fixtures";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Where screenshots go. */
export const RESULTS = resolve(import.meta.dirname, "../../test-results");
/** Small files the tests send (a PNG photo, a PDF). */
export const FIXTURES = resolve(import.meta.dirname, "fixtures");
export const WAIT = { timeout: 20_000 };

export interface Person {
  context: BrowserContext;
  page: Page;
}

/**
 * Registers the hooks of a browser test file; answers `person(who)`, a fresh context and page.
 * `expected`: console errors the test causes on purpose (e.g. the browser's line for a refused request).
 */
export function browserPages(): (who: string, expected?: RegExp[]) => Promise<Person> {
  let browser: Browser | undefined;
  /** This test's browser contexts, and what went wrong on their pages. */
  let contexts: BrowserContext[] = [];
  let pageErrors: string[] = [];

  beforeAll(() => {
    mkdirSync(RESULTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    const errors = pageErrors;
    [contexts, pageErrors] = [[], []];
    expect(errors, "uncaught exceptions and console errors on the pages").toEqual([]);
  });

  return async (who, expected = []) => {
    browser ??= await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(`${who}'s page: uncaught ${err.stack ?? err.message}`));
    page.on("console", (msg) => {
      if (msg.type() !== "error" || expected.some((e) => e.test(msg.text()))) return;
      const { url, lineNumber } = msg.location();
      pageErrors.push(`${who}'s page: console error: ${msg.text()}${url ? ` (${url}:${lineNumber})` : ""}`);
    });
    return { context, page };
  };
}

export async function signIn(page: Page, name: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await connected(page);
}

/** Waits until the page's socket is open (its `ready` handled). */
export async function connected(page: Page): Promise<void> {
  await page.locator('#conn[data-state="open"]').waitFor(WAIT);
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** The chat's button in the list, by the title the page shows for it. */
export const chatButton = (page: Page, title: string) => page.locator(`button.chat[data-chat-title="${title}"]`);

export const bodies = (page: Page) => page.locator("#messages li.msg .body").allTextContents();
