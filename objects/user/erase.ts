/**
 * `DELETE /v1/me`: the user leaves every group it is in (a `left` message each, as `POST
 * .../leave` would), its direct chats are told its block and read receipts settings are gone,
 * its sockets are closed with 4003, and its object's storage (inbox, settings, blocks, mutes,
 * push subscriptions and waiting pushes, its alarm) is deleted. The Worker then has the instance
 * reset (`ctx.abort`), so the next call finds an empty object that builds its tables again; a
 * delivery landing in between fails on the missing tables and its chat retries it later.
 * Nothing is erased unless every group was left: a failure answers an error, and a retry goes on.
 */
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { directChatId } from "../../protocol";
import { mapLimit } from "../map-limit";
import { type Outcome, ok, refuse } from "../outcome";
import { chatStub } from "../stubs";
import { Blocks } from "./blocks";
import { Privacy } from "./privacy";
import * as schema from "./schema";

/** The close code of a deleted account's sockets. */
export const ERASED_CLOSE_CODE = 4003;
const ERASED_REASON = "account deleted";

export interface EraseHost {
  ctx: DurableObjectState;
  env: Env;
  db: DrizzleSqliteDODatabase<typeof schema>;
}

export async function eraseUser({ ctx, env, db }: EraseHost, userId: string): Promise<Outcome<null>> {
  closeSockets(ctx);
  const chats = db.select().from(schema.inbox).all();
  const failed: string[] = [];
  const groups = chats.filter((c) => c.type === "group" && c.active).map((c) => c.chatId);
  await mapLimit(groups, 16, async (chatId) => {
    const left = await chatStub(env, chatId)
      .removeMember(chatId, userId, userId)
      .catch(() => null);
    // not_found: it had left already (an earlier attempt, or a removal).
    if (!left || (!left.ok && left.code !== "not_found")) failed.push(chatId);
  });
  if (failed.length > 0) return refuse("internal", `could not leave ${failed.length} group(s); try again`);
  // The direct chats keep what they were told of this user's settings: put them back to the defaults.
  const readReceiptsOff = !new Privacy(db).get().readReceipts;
  const direct = chats.filter((c) => c.type === "direct").map((c) => c.chatId);
  const unblock = new Blocks(db).list().map((other) => directChatId(userId, other));
  await mapLimit([...new Set([...unblock, ...(readReceiptsOff ? direct : [])])], 16, async (chatId) => {
    const chat = chatStub(env, chatId);
    if (unblock.includes(chatId)) await chat.setBlocking(chatId, userId, false);
    if (readReceiptsOff) await chat.setReadReceipts(chatId, userId, true);
  });
  await ctx.blockConcurrencyWhile(async () => {
    // A device that connected meanwhile goes too.
    closeSockets(ctx);
    await ctx.storage.deleteAlarm();
    await ctx.storage.deleteAll();
  });
  return ok(null);
}

function closeSockets(ctx: DurableObjectState): void {
  for (const ws of ctx.getWebSockets()) {
    try {
      ws.close(ERASED_CLOSE_CODE, ERASED_REASON);
    } catch {
      // Already closed.
    }
  }
}
