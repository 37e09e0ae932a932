import { describe, expect, it } from "vitest";
import type { Watermarks } from "../objects/contracts";
import { ReceiptQueue, type ReceiptWaiter } from "../objects/user/receipt-queue";

const waiter = (status: "delivered" | "read"): ReceiptWaiter => ({ ws: {} as WebSocket, deviceId: "phone", status });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingQueue() {
  const calls: Watermarks[] = [];
  const queue = new ReceiptQueue(
    async (_chatId, _userId, marks) => {
      calls.push(marks);
      return { ok: true, value: marks };
    },
    () => {},
  );
  return { calls, queue };
}

describe("receipt queue", () => {
  it("a delayed delivered receipt waits, and those that follow merge into one call", async () => {
    const { calls, queue } = recordingQueue();
    queue.submit("g~chat", "bob", 1, waiter("delivered"), 500);
    queue.submit("g~chat", "bob", 2, waiter("delivered"), 500);
    await wait(20);
    expect(calls).toEqual([]);
    queue.submit("g~chat", "bob", 3, waiter("delivered"), 500);
    await wait(800);
    expect(calls).toEqual([{ delivered: 3, read: 0 }]);
  });

  it("a read goes at once and takes the waiting delivered receipt with it", async () => {
    const { calls, queue } = recordingQueue();
    queue.submit("g~chat", "bob", 5, waiter("delivered"), 10_000);
    queue.submit("g~chat", "bob", 4, waiter("read"), 10_000);
    await wait(10);
    expect(calls).toEqual([{ delivered: 5, read: 4 }]);
  });

  it("without a delay a receipt goes at once; one call in flight per chat, the rest merged", async () => {
    const { calls, queue } = recordingQueue();
    queue.submit("d~a~b", "bob", 1, waiter("delivered"));
    queue.submit("d~a~b", "bob", 2, waiter("delivered"));
    queue.submit("d~a~b", "bob", 3, waiter("delivered"));
    await wait(10);
    expect(calls).toEqual([
      { delivered: 1, read: 0 },
      { delivered: 3, read: 0 },
    ]);
  });
});
