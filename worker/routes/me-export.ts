/**
 * The body of `GET /v1/me/export`, streamed: the user object's part first, then each chat with
 * the messages the user sent there, one page at a time from the chat object, so that neither
 * the Worker nor any object holds the whole export.
 */
import { SENT_PAGE_LIMIT } from "../../objects/chat/sent-by";
import { chatStub } from "../../objects/stubs";
import type { ExportHead } from "../../objects/user/export";

const json = JSON.stringify;

async function* exportChunks(env: Env, userId: string, head: ExportHead, now: number): AsyncGenerator<string> {
  const { chats, ...own } = head;
  const fields = Object.entries(own).map(([key, value]) => `${json(key)}:${json(value)}`);
  yield `{"userId":${json(userId)},"exportedAt":${json(new Date(now).toISOString())},${fields.join(",")},"chats":[`;
  for (const [i, chat] of chats.entries()) {
    yield `${i > 0 ? "," : ""}${json(chat).slice(0, -1)},"messages":[`;
    let after = 0;
    for (;;) {
      const page = await chatStub(env, chat.chatId).sentBy(chat.chatId, userId, after, SENT_PAGE_LIMIT);
      if (!page.ok) throw new Error(`chat ${chat.chatId}: ${page.message}`);
      const { messages, more } = page.value;
      const last = messages.at(-1);
      if (last) yield `${after > 0 ? "," : ""}${messages.map((m) => json(m)).join(",")}`;
      if (!more || !last) break;
      after = last.seq;
    }
    yield "]}";
  }
  yield "]}";
}

export function exportStream(env: Env, userId: string, head: ExportHead, now = Date.now()): ReadableStream<Uint8Array> {
  const chunks = exportChunks(env, userId, head, now);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
