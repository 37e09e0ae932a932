/** One delivery to many members' objects, a bounded number of calls at a time, one result each. */
import type { Delivery, DeliveryResult } from "./contracts";
import { mapLimit } from "./map-limit";

const CONCURRENCY = 32;

export async function deliverEach(
  userIds: string[],
  delivery: Delivery,
  deliverOne: (userId: string, delivery: Delivery) => Promise<DeliveryResult["answer"]>,
): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  await mapLimit(userIds, CONCURRENCY, async (userId) => {
    try {
      results.push({ userId, answer: (await deliverOne(userId, delivery)) ?? {} });
    } catch (err) {
      results.push({ userId, error: String(err) });
    }
  });
  return results;
}
