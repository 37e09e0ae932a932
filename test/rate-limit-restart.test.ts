/**
 * The per-user send bucket survives a restart of the user's object: a user who spent its burst
 * does not get a fresh one by having its object evicted.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unique } from "./helpers/client";
import { evict } from "./helpers/evict";

const users: DurableObjectNamespace = env.USER;

describe("send bucket across restarts", () => {
  it("a spent burst stays spent after an eviction", async () => {
    const userId = unique("flooder");
    const stub = env.USER.get(env.USER.idFromName(userId));
    // The workers project allows a burst of 1,000 and 5 a second after it.
    let allowed = 0;
    while ((await stub.allowSend()) && allowed < 2_000) allowed += 1;
    expect(allowed).toBeGreaterThanOrEqual(1_000);
    const spentAt = Date.now();
    // The bucket is written within a second of the sends: wait for that write, not a fixed time.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const stored = await runInDurableObject(users.get(users.idFromName(userId)), (_i, state) =>
        state.storage.sql
          .exec<{ value: number }>("SELECT value FROM user_meta WHERE key = 'bucket_tokens_milli'")
          .toArray(),
      );
      if ((stored[0]?.value ?? 1_000_000) < 1_000) break;
      if (Date.now() > deadline) throw new Error("the bucket was never written");
      await new Promise((r) => setTimeout(r, 50));
    }
    await evict(users.get(users.idFromName(userId)));
    let after = 0;
    for (let i = 0; i < 200; i++) if (await stub.allowSend()) after += 1;
    // What the rate gave back since the burst was spent, and no new burst.
    const refilled = Math.ceil(((Date.now() - spentAt) / 1000) * 5) + 1;
    expect(after).toBeLessThanOrEqual(refilled);
    expect(after).toBeLessThan(50);
  });
});
