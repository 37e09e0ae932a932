/**
 * Figure 4: one send into a group whose members are all online, timed to the last member that
 * receives it; its baseline, one delivery in a direct chat, timed the same way; and the floor
 * of the same shape, one object calling as many bare objects that each push one frame.
 */
import { directChatId } from "../../protocol/ids";
import type { ConnSpec } from "../agent-protocol";
import {
  type Bench,
  closeAll,
  createGroup,
  type Device,
  deviceSpec,
  echoSpec,
  keyOf,
  openAll,
  wsUrl,
} from "../context";
import { awaitIdle } from "../idle";
import { type LatencySummary, summarize } from "../stats";
import { collectDeliveries } from "./throughput";

const WAIT_MS = 15_000;

/** Fires one tagged send (`fire`) and waits until `recipients` devices hold it; answers the last arrival (ms). */
async function timed(
  bench: Bench,
  recipients: number,
  tag: string,
  fire: (tag: string) => Promise<unknown> | undefined,
  waitMs = WAIT_MS,
) {
  await fire(tag);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = (await collectDeliveries(bench, false, false)).tags[tag];
    if (got && got.count >= recipients) break;
    if (Date.now() > deadline) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 5));
  }
  const final = (await collectDeliveries(bench, true, false)).tags[tag];
  return final?.maxMs ?? Number.POSITIVE_INFINITY;
}

/** Sends one tagged message and waits until `recipients` devices hold it; answers the last arrival (ms). */
export function timedSend(bench: Bench, sender: string, chatId: string, recipients: number, tag: string) {
  return timed(bench, recipients, tag, (t) =>
    bench.agents[0]?.call({ cmd: "sendTagged", key: sender, chatId, tag: t }),
  );
}

/**
 * `fanoutSends` times on an idle server (the receipts of the one before have settled), after
 * one warm-up: the last arrival of each, summarized.
 */
async function timedRuns(
  bench: Bench,
  recipients: number,
  label: string,
  fire: (tag: string) => Promise<unknown> | undefined,
  limits: { waitMs?: number; until?: number } = {},
) {
  await timed(bench, recipients, `${bench.runId}-${label}-warm`, fire, limits.waitMs);
  const samples: number[] = [];
  for (let i = 0; i < bench.params.fanoutSends && Date.now() < (limits.until ?? Number.POSITIVE_INFINITY); i++) {
    await awaitIdle(bench.server);
    samples.push(await timed(bench, recipients, `${bench.runId}-${label}-${i}`, fire, limits.waitMs));
  }
  const summary = summarize(samples.filter(Number.isFinite), samples.filter((s) => !Number.isFinite(s)).length);
  return { ...summary, samples: samples.length };
}

/** Each send on an idle server (the receipts of the one before have settled), like the direct baseline. */
export function timedSends(
  bench: Bench,
  sender: string,
  chatId: string,
  recipients: number,
  label: string,
  limits: { waitMs?: number; until?: number } = {},
) {
  return timedRuns(
    bench,
    recipients,
    label,
    (tag) => bench.agents[0]?.call({ cmd: "sendTagged", key: sender, chatId, tag }),
    limits,
  );
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

export interface FloorResult {
  /** Calls in flight in the floor object (0: all at once). */
  concurrency: number;
  latency: LatencySummary;
}

/**
 * The floor of a fan-out to `size` online members: the floor object calls `size` bare echo
 * objects over RPC, each of which pushes one message-sized frame to its one socket (held by the
 * agents like figure 4's members, half on each), timed from the trigger frame leaving agent 0 to
 * the last socket receiving the push; once per concurrency in `concurrencies`.
 */
export async function fanoutFloor(bench: Bench, size: number, concurrencies: number[]): Promise<FloorResult[]> {
  const prefix = `${bench.runId}-floor-`;
  const sockets = Array.from({ length: size }, (_, i) => ({
    spec: echoSpec(bench.server, `${prefix}${i}`),
    agent: i % bench.agents.length,
  }));
  const trigger = `${bench.runId}-floor`;
  const triggerSpec: ConnSpec = {
    key: trigger,
    kind: "echo",
    url: wsUrl(bench.server, `/bench/floor?name=${encodeURIComponent(trigger)}`),
  };
  await openAll(bench, [...sockets, { spec: triggerSpec, agent: 0 }], 64);
  try {
    const out: FloorResult[] = [];
    for (const concurrency of concurrencies) {
      const latency = await timedRuns(bench, size, `floor${size}c${concurrency}`, (tag) =>
        bench.agents[0]?.call({ cmd: "floorSend", key: trigger, tag, prefix, count: size, concurrency }),
      );
      bench.log(
        `    floor, ${size} bare objects, ${concurrency || "all"} in flight: p50 ${latency.p50.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms`,
      );
      out.push({ concurrency, latency });
    }
    return out;
  } finally {
    await closeAll(bench);
  }
}
