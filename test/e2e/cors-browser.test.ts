/**
 * CORS in a real browser: a dedicated local server with `ALLOWED_ORIGINS` naming one page
 * origin (another port of 127.0.0.1). From a page there, `fetch` with `Authorization` (and a
 * JSON POST, which needs a preflight) reaches the API; from a page on a third origin the
 * browser refuses to let the page read the answer (`TypeError`).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, type LocalServer, startLocalServer } from "../../tools/local-server";
import { browserPages } from "./web-pages";

const person = browserPages();
let api: LocalServer;
let allowedPage: Server;
let otherPage: Server;

function pageServer(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>a page</title>");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  [allowedPage, otherPage] = await Promise.all([pageServer(), pageServer()]);
  api = await startLocalServer({ port: await freePort(), vars: { ALLOWED_ORIGINS: originOf(allowedPage) } });
}, 90_000);

afterAll(async () => {
  await api?.stop();
  for (const s of [allowedPage, otherPage]) s?.close();
});

async function token(userId: string): Promise<string> {
  const res = await fetch(`${api.url}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** In the page: a GET with a bearer token and a JSON POST; what the page could read, or the error's name. */
async function callApi(args: { api: string; token: string; peer: string }) {
  const attempt = async (init: RequestInit, path: string) => {
    try {
      const res = await fetch(`${args.api}${path}`, init);
      return { status: res.status, body: await res.json() };
    } catch (err) {
      return { error: err instanceof Error ? err.name : String(err) };
    }
  };
  const auth = { Authorization: `Bearer ${args.token}` };
  // One after the other: the list must be read before the chat exists.
  const list = await attempt({ headers: auth }, "/v1/chats");
  const created = await attempt(
    {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ type: "direct", with: args.peer }),
    },
    "/v1/chats",
  );
  return [list, created];
}

it("a page of an allowed origin calls the API with a token; a page of another origin cannot", async () => {
  const run = Date.now().toString(36);
  const args = { api: api.url, token: await token(`cors-a-${run}`), peer: `cors-b-${run}` };

  const allowed = await person("allowed");
  await allowed.page.goto(`${originOf(allowedPage)}/`);
  const [list, created] = await allowed.page.evaluate(callApi, args);
  expect(list).toEqual({ status: 200, body: { chats: [] } });
  expect(created).toMatchObject({ status: 200, body: { chatId: expect.any(String) } });

  const other = await person("other", [/blocked by CORS policy/, /Failed to load resource/]);
  await other.page.goto(`${originOf(otherPage)}/`);
  expect(await other.page.evaluate(callApi, args)).toEqual([{ error: "TypeError" }, { error: "TypeError" }]);
});
