/**
 * The users this user blocked, kept in its object. A block also tells the direct chat with the
 * blocked user (which refuses that user's sends and stops typing and receipts between them), and
 * this object refuses the blocked user its presence.
 */
import { asc, eq } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import * as schema from "./schema";

const b = schema.blocks;

export class Blocks {
  private cache: Set<string> | null = null;

  constructor(private readonly db: DrizzleSqliteDODatabase<typeof schema>) {}

  has(userId: string): boolean {
    return this.all().has(userId);
  }

  list(): string[] {
    return this.db
      .select({ userId: b.userId })
      .from(b)
      .orderBy(asc(b.userId))
      .all()
      .map((r) => r.userId);
  }

  add(userId: string, now = Date.now()): void {
    this.db.insert(b).values({ userId, createdAt: now }).onConflictDoNothing().run();
    this.all().add(userId);
  }

  remove(userId: string): void {
    this.db.delete(b).where(eq(b.userId, userId)).run();
    this.all().delete(userId);
  }

  private all(): Set<string> {
    this.cache ??= new Set(this.list());
    return this.cache;
  }
}
