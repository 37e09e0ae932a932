/**
 * Keeps the send bucket across restarts of the user object: read when the object starts, and
 * written at most once per `WRITE_EVERY_MS` while a burst has drawn it down (one small write,
 * never one per send). A bucket that is about full is not written: restarting full loses
 * nothing, and a stored lower level refills from its stored time. A restart inside that second
 * costs at most that second's sends.
 */
import { inArray, sql } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { TokenBucket } from "./rate-limit";
import * as schema from "./schema";

const WRITE_EVERY_MS = 1_000;
/** Within this many tokens of full, the bucket is not worth a write (single sends stay free). */
const FULL_ENOUGH = 2;
// Tokens are fractional; `user_meta` holds integers: thousandths.
const TOKENS = "bucket_tokens_milli";
const LAST = "bucket_last_ms";

export class BucketStore {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly db: DrizzleSqliteDODatabase<typeof schema>,
    private readonly bucket: TokenBucket,
  ) {}

  /** Continues from the stored bucket, if one was stored. */
  load(): void {
    const rows = this.db
      .select()
      .from(schema.userMeta)
      .where(inArray(schema.userMeta.key, [TOKENS, LAST]))
      .all();
    const tokens = rows.find((r) => r.key === TOKENS)?.value;
    const last = rows.find((r) => r.key === LAST)?.value;
    if (tokens !== undefined && last !== undefined) this.bucket.restore({ tokens: tokens / 1000, last });
  }

  /** The bucket changed: written within a second if a burst drew it down. */
  changed(): void {
    if (this.bucket.state().tokens > this.bucket.size - FULL_ENOUGH) return;
    this.timer ??= setTimeout(() => this.write(), WRITE_EVERY_MS);
  }

  private write(): void {
    this.timer = null;
    const { tokens, last } = this.bucket.state();
    for (const [key, value] of [
      [TOKENS, Math.floor(tokens * 1000)],
      [LAST, last],
    ] as const) {
      this.db
        .insert(schema.userMeta)
        .values({ key, value })
        .onConflictDoUpdate({ target: schema.userMeta.key, set: { value: sql`excluded.value` } })
        .run();
    }
  }
}
