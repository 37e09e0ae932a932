/**
 * The user's privacy settings (protocol v1.1, "Privacy"): who sees its last seen (`everyone`,
 * `chats`, `nobody`; with `nobody` it sees no one's either) and whether its reads give blue
 * ticks in direct chats. Kept in `user_meta`; defaults `chats` and on.
 */
import { inArray, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { PrivacySettings } from "../../protocol";
import * as schema from "./schema";

const RULES = ["everyone", "chats", "nobody"] as const;
const LAST_SEEN = "privacy_last_seen";
const READ_RECEIPTS = "privacy_read_receipts";

export class Privacy {
  private current: PrivacySettings | null = null;

  constructor(private readonly db: DrizzleSqliteDODatabase<typeof schema>) {}

  get(): PrivacySettings {
    if (this.current) return this.current;
    const rows = this.db
      .select()
      .from(schema.userMeta)
      .where(inArray(schema.userMeta.key, [LAST_SEEN, READ_RECEIPTS]))
      .all();
    const rule = rows.find((r) => r.key === LAST_SEEN)?.value ?? 1;
    const receipts = rows.find((r) => r.key === READ_RECEIPTS)?.value ?? 1;
    this.current = { lastSeen: RULES[rule] ?? "chats", readReceipts: receipts === 1 };
    return this.current;
  }

  set(patch: Partial<PrivacySettings>): PrivacySettings {
    const next = { ...this.get(), ...patch };
    for (const [key, value] of [
      [LAST_SEEN, RULES.indexOf(next.lastSeen)],
      [READ_RECEIPTS, next.readReceipts ? 1 : 0],
    ] as const) {
      this.db
        .insert(schema.userMeta)
        .values({ key, value })
        .onConflictDoUpdate({ target: schema.userMeta.key, set: { value: sql`excluded.value` } })
        .run();
    }
    this.current = next;
    return next;
  }
}
