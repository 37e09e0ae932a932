/**
 * Eviction that proves itself: the running instance is remembered, the object is evicted (an
 * eviction error fails the test), and the instance that answers afterwards must be a new one.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";

/** The live instance of the object, woken if it was not running. */
export async function instanceOf(stub: DurableObjectStub): Promise<object> {
  let live: object | null = null;
  await runInDurableObject(stub, (instance: object) => {
    live = instance;
  });
  if (!live) throw new Error(`${stub.id}: no instance`);
  return live;
}

/** Fails unless the instance now running is not `before` (the object was torn down and rebuilt). */
export async function expectReplaced(stub: DurableObjectStub, before: object): Promise<void> {
  if ((await instanceOf(stub)) === before) throw new Error(`${stub.id} was not evicted: the same instance answers`);
}

/** Evicts the object (waking it first, so it is surely running) and proves a fresh instance answers. */
export async function evict(stub: DurableObjectStub): Promise<void> {
  const before = await instanceOf(stub);
  await evictDurableObject(stub);
  await expectReplaced(stub, before);
}
