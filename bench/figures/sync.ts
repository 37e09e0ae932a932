/**
 * Figure 5: a device that missed many messages reconnects, gets `ready`, and pages `history`
 * (500 a page) after its cursor until it holds all of them. Baseline: connecting to the bare
 * echo object and receiving the same bytes in the same number of round trips.
 */
import { directChatId } from "../../protocol/ids";
import type { SyncResult } from "../agent-protocol";
import { api, type Bench, closeAll, type Device, deviceSpec, echoSpec, keyOf, openAll } from "../context";

export interface SyncFigure {
  sync: SyncResult;
  echoMs: number;
  sendMs: number;
}

export async function reconnectSync(bench: Bench): Promise<SyncFigure> {
  const n = bench.params.syncMessages;
  const s: Device = { userId: `${bench.runId}-f5-s`, device: "phone", agent: 0 };
  const r: Device = { userId: `${bench.runId}-f5-r`, device: "phone", agent: bench.agents.length - 1 };
  const chatId = directChatId(s.userId, r.userId);
  const receiver = bench.agents[r.agent];
  const sender = bench.agents[0];
  if (!receiver || !sender) throw new Error("no agents");
  // The device has been here before (holding nothing of this chat), then goes offline.
  await openAll(
    bench,
    [s, r].map((d) => ({ spec: deviceSpec(bench, d), agent: d.agent })),
  );
  await receiver.call({ cmd: "close", keys: [keyOf(r)] });
  const burst = await sender.call({ cmd: "burst", key: keyOf(s), chatId, count: n, window: 64, bodyBytes: 100 });
  if (burst.acked !== n) throw new Error(`only ${burst.acked} of ${n} sends were acked (${burst.errors} errors)`);
  await closeAll(bench);
  // Wait until the recipient's inbox knows the last message (fan-out runs after the acks).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await api(bench, r.userId, "GET", "/v1/chats");
    const chats = (list.body.chats ?? []) as { chatId: string; lastSeq: number }[];
    if (chats.find((c) => c.chatId === chatId)?.lastSeq === burst.lastSeq) break;
    if (Date.now() > deadline) throw new Error("the recipient's inbox did not catch up in 60 s");
    await new Promise((res) => setTimeout(res, 100));
  }
  const sync = await receiver.call({
    cmd: "sync",
    spec: { conn: deviceSpec(bench, r), chatId, after: 0, expect: n, pageLimit: 500 },
  });
  await closeAll(bench);
  if (sync.got !== n || !sync.inOrder) throw new Error(`sync got ${sync.got} of ${n} (in order: ${sync.inOrder})`);
  const echo = await receiver.call({
    cmd: "blobs",
    conn: echoSpec(bench.server, `${bench.runId}-f5-echo`),
    bytes: sync.pageBytes,
  });
  return { sync, echoMs: echo.ms, sendMs: burst.ms };
}
