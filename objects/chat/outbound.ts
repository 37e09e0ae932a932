/**
 * Every call the chat object makes to other objects: deliveries (directly, or through relay
 * objects for a large round) and pushes of frames (receipts, typing). `deliver` and `relay` are
 * fields so that tests can swap them from inside the object (`runInDurableObject`).
 */
import type { ServerFrame } from "../../protocol";
import type { Delivery, DeliveryAnswer, DeliveryResult } from "../contracts";
import { deliverEach } from "../deliver-each";
import { errorFields, logEvent } from "../log-event";
import { mapLimit } from "../map-limit";
import { relayStub, userStub } from "../stubs";

/** A round to more members than this goes through relay objects, this many members each. */
export const RELAY_BATCH = 512;
const PUSH_CONCURRENCY = 32;

export class Outbound {
  /** One delivery call to a member's object. */
  deliver: (userId: string, delivery: Delivery) => Promise<DeliveryAnswer>;
  /** One shard of a large round, handed to relay `shard` of this chat. */
  relay: (shard: number, userIds: string[], delivery: Delivery) => Promise<DeliveryResult[]>;
  relayBatch = RELAY_BATCH;

  constructor(private readonly env: Env) {
    this.deliver = (userId, delivery) => userStub(env, userId).deliver(userId, delivery);
    this.relay = (shard, userIds, delivery) => relayStub(env, delivery.chatId, shard).relay(userIds, delivery);
  }

  /**
   * One delivery to many members: directly up to `relayBatch` of them, else through relay
   * objects, `relayBatch` members each, so that no event of the chat makes thousands of calls.
   * A relay that fails fails its whole shard.
   */
  async deliverMany(userIds: string[], delivery: Delivery): Promise<DeliveryResult[]> {
    if (userIds.length <= this.relayBatch) return deliverEach(userIds, delivery, (u, d) => this.deliver(u, d));
    const shards: string[][] = [];
    for (let i = 0; i < userIds.length; i += this.relayBatch) shards.push(userIds.slice(i, i + this.relayBatch));
    const results = await Promise.all(
      shards.map((ids, shard) =>
        this.relay(shard, ids, delivery).catch((err) => ids.map((userId) => ({ userId, error: String(err) }))),
      ),
    );
    return results.flat();
  }

  /** Frames to the members' connected devices; a failure is logged, not thrown (they are not stored). */
  async pushTo(chatId: string, userIds: string[], frames: ServerFrame[]): Promise<void> {
    await mapLimit(userIds, PUSH_CONCURRENCY, async (userId) => {
      try {
        await userStub(this.env, userId).push(frames);
      } catch (err) {
        logEvent("warn", "delivery_failed", { source: "ChatObject", chatId, peerId: userId, ...errorFields(err) });
      }
    });
  }
}
