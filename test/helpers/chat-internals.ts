/**
 * The chat object's internals, reached from inside it with `runInDurableObject`. The class keeps
 * them private (its public methods are its RPC API), so this is the one place tests look at
 * its fan-out or swap its delivery calls.
 */
import { runInDurableObject } from "cloudflare:test";
import type { ChatObject } from "../../objects/chat/chat-object";
import type { Fanout } from "../../objects/chat/fanout";
import type { Outbound } from "../../objects/chat/outbound";

interface ChatInternals {
  fanout: Fanout;
  outbound: Outbound;
  receipts: { flush(): Promise<void> };
}

type ChatStub = DurableObjectStub<ChatObject>;

function internals(chat: ChatObject): ChatInternals {
  return chat as unknown as ChatInternals;
}

/** Waits until the chat's fan-out is idle; answers the members whose last delivery failed. */
export function fanoutFailures(stub: ChatStub): Promise<string[]> {
  return runInDurableObject(stub, async (chat: ChatObject) => {
    const { fanout } = internals(chat);
    await fanout.idle();
    return [...fanout.failed];
  });
}

/** Sends the chat's due receipt frames now, not after their window; resolves once they were pushed. */
export function flushReceipts(stub: ChatStub): Promise<void> {
  return runInDurableObject(stub, (chat: ChatObject) => internals(chat).receipts.flush());
}

/**
 * Rounds to more than `batch` members go through relay objects from now on, `batch` members
 * each; the answer records the relay calls (shard and member count), and puts both back.
 */
export async function useRelays(
  stub: ChatStub,
  batch: number,
  failShards: ReadonlySet<number> = new Set(),
): Promise<{ relays: { shard: number; members: number }[]; restore(): Promise<void> }> {
  const relays: { shard: number; members: number }[] = [];
  const real = await runInDurableObject(stub, (chat: ChatObject) => {
    const outbound = internals(chat).outbound;
    const before = { relay: outbound.relay, batch: outbound.relayBatch };
    outbound.relayBatch = batch;
    outbound.relay = (shard, userIds, delivery) => {
      relays.push({ shard, members: userIds.length });
      if (failShards.has(shard)) return Promise.reject(new Error("injected relay failure"));
      return before.relay(shard, userIds, delivery);
    };
    return before;
  });
  return {
    relays,
    restore: () =>
      runInDurableObject(stub, (chat: ChatObject) => {
        const outbound = internals(chat).outbound;
        outbound.relay = real.relay;
        outbound.relayBatch = real.batch;
      }),
  };
}

/**
 * Stands in for the objects of members who have never connected, so a test can hold a group
 * larger than the objects one workerd process can open: a call to any member outside `real`
 * is answered "parked" (what such a member's object answers) without waking its object. Calls
 * are recorded: direct ones by member, relayed ones by shard size.
 */
export async function fakeOfflineMembers(
  stub: ChatStub,
  real: ReadonlySet<string>,
): Promise<{ direct: string[]; relayed: number[] }> {
  const direct: string[] = [];
  const relayed: number[] = [];
  const parked = () => ({ parked: Date.now() * 1_000 });
  await runInDurableObject(stub, (chat: ChatObject) => {
    const outbound = internals(chat).outbound;
    const { deliver, relay } = outbound;
    outbound.deliver = (userId, delivery) => {
      direct.push(userId);
      return real.has(userId) ? deliver(userId, delivery) : Promise.resolve(parked());
    };
    outbound.relay = async (shard, userIds, delivery) => {
      relayed.push(userIds.length);
      const wake = userIds.filter((u) => real.has(u));
      const woken = wake.length > 0 ? await relay(shard, wake, delivery) : [];
      return [...woken, ...userIds.filter((u) => !real.has(u)).map((userId) => ({ userId, answer: parked() }))];
    };
  });
  return { direct, relayed };
}

export interface RecordedDeliveries {
  /** The members the chat called with a delivery, one entry per call, in call order. */
  readonly calls: string[];
  /** Stops recording. */
  restore(): Promise<void>;
}

type Deliver = ChatInternals["outbound"]["deliver"];

/** Replaces the chat's delivery call by `wrap(real)` until `restore` puts the real one back. */
async function wrapDeliver(stub: ChatStub, wrap: (real: Deliver) => Deliver): Promise<() => Promise<void>> {
  const real = await runInDurableObject(stub, (chat: ChatObject) => {
    const outbound = internals(chat).outbound;
    const original = outbound.deliver;
    outbound.deliver = wrap(original);
    return original;
  });
  return () =>
    runInDurableObject(stub, (chat: ChatObject) => {
      internals(chat).outbound.deliver = real;
    });
}

/** Records every delivery call the chat makes from now on (they still go through). */
export async function recordDeliveries(stub: ChatStub): Promise<RecordedDeliveries> {
  const calls: string[] = [];
  const restore = await wrapDeliver(stub, (real) => (userId, delivery) => {
    calls.push(userId);
    return real(userId, delivery);
  });
  return { calls, restore };
}

export interface InjectedFaults {
  /** The members whose delivery calls were made to fail so far, one entry per failed call. */
  readonly failed: readonly string[];
  /** Puts the real delivery calls back. */
  restore(): Promise<void>;
}

/**
 * Makes every `n`th delivery call of the chat (fan-out, retries, farewells) fail from now on,
 * until `restore`. Lasts while the instance does. The tests run in the objects' isolate, so
 * `failed` is read directly.
 */
export async function failEveryNthDelivery(stub: ChatStub, n: number): Promise<InjectedFaults> {
  const failed: string[] = [];
  let calls = 0;
  const restore = await wrapDeliver(stub, (real) => (userId, delivery) => {
    if (++calls % n !== 0) return real(userId, delivery);
    failed.push(userId);
    return Promise.reject(new Error("injected fan-out fault"));
  });
  return { failed, restore };
}

/** Records every frame push (typing, receipts) the chat makes from now on, to whom and what. */
export async function recordPushes(stub: ChatStub): Promise<{ userIds: string[]; type: string }[]> {
  const pushes: { userIds: string[]; type: string }[] = [];
  await runInDurableObject(stub, (chat: ChatObject) => {
    const outbound = internals(chat).outbound;
    const real = outbound.pushTo.bind(outbound);
    outbound.pushTo = (chatId, userIds, frames) => {
      for (const f of frames) pushes.push({ userIds: [...userIds], type: f.type });
      return real(chatId, userIds, frames);
    };
  });
  return pushes;
}
