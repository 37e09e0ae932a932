/**
 * What a user object keeps of its user, for `GET /v1/me/export`: its chats (those it left too),
 * privacy settings, blocks, mutes and push subscriptions. Subscriptions are given without their
 * keys: `p256dh` and `auth` are the browser's secret for encrypting pushes to it, and an export
 * file kept carelessly must not let anyone holding it send that device pushes.
 */
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { ChatType, PrivacySettings } from "../../protocol";
import { Blocks } from "./blocks";
import { Privacy } from "./privacy";
import * as schema from "./schema";

export interface ExportHead {
  settings: PrivacySettings;
  blocks: string[];
  mutes: { chatId: string; until: number | null }[];
  pushSubscriptions: { deviceId: string; endpoint: string; createdAt: number }[];
  /** `member` false: a group the user left (its messages there are still its own). */
  chats: { chatId: string; type: ChatType; title: string | null; member: boolean }[];
}

export function exportHead(db: DrizzleSqliteDODatabase<typeof schema>): ExportHead {
  const s = schema.pushSubscriptions;
  return {
    settings: new Privacy(db).get(),
    blocks: new Blocks(db).list(),
    mutes: db.select().from(schema.mutes).orderBy(schema.mutes.chatId).all(),
    pushSubscriptions: db
      .select({ deviceId: s.deviceId, endpoint: s.endpoint, createdAt: s.createdAt })
      .from(s)
      .orderBy(s.deviceId)
      .all(),
    chats: db
      .select()
      .from(schema.inbox)
      .orderBy(schema.inbox.chatId)
      .all()
      .map((r) => ({ chatId: r.chatId, type: r.type, title: r.title, member: r.active })),
  };
}
