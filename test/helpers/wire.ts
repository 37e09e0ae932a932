/**
 * Answers as the bytes a client gets, for tests that compare two refusals exactly: an HTTP
 * answer's status, headers and body text, and the exact text of a socket's reply frame.
 */
import type { TestSocket } from "./client";

/** Headers that differ between any two answers by nature, not by what they answer (each request has its own id). */
const VOLATILE_HEADERS = new Set(["date", "x-request-id"]);

export type Answer = { status: number; headers: string[]; body: string };

/** An HTTP answer as a client reads it: status, headers (`name: value`, sorted) and body text. */
export async function answerOf(res: Response): Promise<Answer> {
  const headers = [...res.headers]
    .filter(([name]) => !VOLATILE_HEADERS.has(name))
    .map(([name, value]) => `${name}: ${value}`)
    .sort();
  return { status: res.status, headers, body: await res.text() };
}

/** Sends `frame` with the given `id` and answers the exact text of the first frame back with that id. */
export function rawReply(
  socket: TestSocket,
  frame: Record<string, unknown>,
  id: string,
  timeoutMs = 5_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      socket.ws.removeEventListener("message", onMessage);
    };
    const onMessage = (e: MessageEvent) => {
      const text = String(e.data);
      if ((JSON.parse(text) as { id?: unknown }).id !== id) return;
      done();
      resolve(text);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no reply to ${JSON.stringify(frame)} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.ws.addEventListener("message", onMessage);
    socket.send({ ...frame, id });
  });
}
