/**
 * Relay objects spread a large fan-out: a chat with more members to reach than one event should
 * call hands each relay one delivery and a shard of the members, and the relay makes those
 * calls and answers one result per member. Relays keep nothing: a relay that fails or is
 * evicted mid-call fails its whole shard, which the chat retries from its alarm like any
 * failed delivery. Its one public method is its RPC API.
 */
import { DurableObject } from "cloudflare:workers";
import type { Delivery, DeliveryResult } from "../contracts";
import { deliverEach } from "../deliver-each";
import { userStub } from "../stubs";

export class RelayObject extends DurableObject<Env> {
  /** The deep health check's round trip (worker/health.ts): answers without touching state. */
  ping(): string {
    return "pong";
  }

  /** Delivers `delivery` to the objects of `userIds`; one result per member. */
  relay(userIds: string[], delivery: Delivery): Promise<DeliveryResult[]> {
    return deliverEach(userIds, delivery, (userId, d) => userStub(this.env, userId).deliver(userId, d));
  }
}
