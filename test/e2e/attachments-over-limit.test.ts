/**
 * An upload declared past the limit, through the real local server: refused 413 at once, while
 * the whole body is still owed, so the server never reads it.
 */
import { request } from "node:http";
import { expect, inject, it } from "vitest";
import { DEFAULT_MAX_ATTACHMENT_BYTES } from "../../protocol";

const base = inject("baseUrl");
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function token(userId: string): Promise<string> {
  const res = await fetch(`${base}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** Sends only the headers of a POST (node:http, so the `Content-Length` is the one given) and answers the reply. */
function headersOnly(path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: "POST", headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() });
        req.destroy();
      });
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

it("a body declared one byte over the limit is refused 413 before any of it is sent", async () => {
  const [alice] = await Promise.all([token(`alice-${run}`), token(`bob-${run}`)]);
  const chat = await fetch(`${base}/v1/chats`, {
    method: "POST",
    headers: { Authorization: `Bearer ${alice}`, "Content-Type": "application/json" },
    body: JSON.stringify({ type: "direct", with: `bob-${run}` }),
  });
  const { chatId } = (await chat.json()) as { chatId: string };
  const started = performance.now();
  const refused = await headersOnly(`/v1/chats/${chatId}/attachments?name=too-big.mp4`, {
    Authorization: `Bearer ${alice}`,
    "Content-Type": "video/mp4",
    "Content-Length": String(DEFAULT_MAX_ATTACHMENT_BYTES + 1),
  });
  const elapsed = performance.now() - started;
  expect(refused.status, refused.text).toBe(413);
  expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "too_large" } });
  // No byte of the body was sent: an answer at all means the server did not wait for it.
  expect(elapsed).toBeLessThan(2_000);
}, 20_000);
