/**
 * Figure 4: one send into a group whose members are all online, timed to the last member that
 * receives it; and its baseline, one delivery in a direct chat, timed the same way.
 */
import { directChatId } from "../../protocol/ids";
import { type Bench, closeAll, createGroup, type Device, deviceSpec, keyOf, openAll } from "../context";
import { awaitIdle } from "../idle";
import { type LatencySummary, summarize } from "../stats";
import { collectDeliveries } from "./throughput";

const WAIT_MS = 15_000;

/** Sends one tagged message and waits until `recipients` devices hold it; answers the last arrival (ms). */
async function timedSend(bench: Bench, sender: string, chatId: string, recipients: number, tag: string) {
  await bench.agents[0]?.call({ cmd: "sendTagged", key: sender, chatId, tag });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const got = (await collectDeliveries(bench, false, false)).tags[tag];
    if (got && got.count >= recipients) break;
    if (Date.now() > deadline) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 5));
  }
  const final = (await collectDeliveries(bench, true, false)).tags[tag];
  return final?.maxMs ?? Number.POSITIVE_INFINITY;
}

/** Each send on an idle server (the receipts of the one before have settled), like the direct baseline. */
async function timedSends(bench: Bench, sender: string, chatId: string, recipients: number, label: string) {
  await timedSend(bench, sender, chatId, recipients, `${bench.runId}-${label}-warm`);
  const samples: number[] = [];
  for (let i = 0; i < bench.params.fanoutSends; i++) {
    await awaitIdle(bench.server);
    samples.push(await timedSend(bench, sender, chatId, recipients, `${bench.runId}-${label}-${i}`));
  }
  return summarize(samples.filter(Number.isFinite), samples.filter((s) => !Number.isFinite(s)).length);
}

/** One delivery in a direct chat, on an otherwise idle server. */
export async function directDelivery(bench: Bench): Promise<LatencySummary> {
  const s: Device = { userId: `${bench.runId}-f4d-s`, device: "phone", agent: 0 };
  const r: Device = { userId: `${bench.runId}-f4d-r`, device: "phone", agent: bench.agents.length - 1 };
  await openAll(
    bench,
    [s, r].map((d) => ({ spec: deviceSpec(bench, d), agent: d.agent })),
  );
  try {
    return await timedSends(bench, keyOf(s), directChatId(s.userId, r.userId), 1, "f4d");
  } finally {
    await closeAll(bench);
  }
}

/** Groups of each size in `sizes`, all members online; the sender is member 0 on agent 0. */
export async function groupFanout(bench: Bench, sizes: number[]): Promise<{ size: number; latency: LatencySummary }[]> {
  const largest = Math.max(...sizes);
  const users = Array.from({ length: largest }, (_, i) => `${bench.runId}-f4-m${i}`);
  const devices: Device[] = users.map((userId, i) => ({ userId, device: "phone", agent: i % bench.agents.length }));
  const chats: { size: number; chatId: string }[] = [];
  for (const size of sizes)
    chats.push({ size, chatId: await createGroup(bench, users[0] as string, users.slice(1, size)) });
  await openAll(
    bench,
    devices.map((d) => ({ spec: deviceSpec(bench, d), agent: d.agent })),
    64,
  );
  try {
    const out: { size: number; latency: LatencySummary }[] = [];
    for (const { size, chatId } of chats) {
      const latency = await timedSends(bench, keyOf(devices[0] as Device), chatId, size - 1, `f4g${size}`);
      bench.log(
        `    ${size} members: last receives after p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`,
      );
      out.push({ size, latency });
    }
    return out;
  } finally {
    await closeAll(bench);
  }
}
