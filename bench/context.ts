/**
 * What every figure works with: the mode and its sizes, the servers, the client agents, users
 * with locally signed tokens, and the rows of results.
 */
import type { ConnSpec } from "./agent-protocol";
import type { Agent } from "./fleet";
import { awaitIdle } from "./idle";
import { signToken } from "./local-env";
import type { BenchServer } from "./servers";

export type Mode = "smoke" | "quick" | "full";

export interface Params {
  /** One step of a load at a fixed rate. */
  stepMs: number;
  /** Longest wait after a step for its backlog (answers, deliveries) to clear before the next. */
  drainMs: number;
  /** Most load steps in one search for a sustained rate. */
  maxSteps: number;
  /** Latency objective that a sustained rate must keep (p99, ms). */
  sloMs: number;
  /** Samples figure 3's step gathers at least (a p99 is judged from 1,000); 0: two steps long. */
  latencySamples: number;
  chats: number;
  groups: number;
  groupSize: number;
  fanoutSizes: number[];
  fanoutSends: number;
  syncMessages: number;
  idleSockets: number;
  /** Whether the memory figure waits for idle objects to hibernate (not in the smoke run). */
  waitForHibernation: boolean;
  bodyBytes: number;
  compareServers: boolean;
  /** Figure 1 again with state on tmpfs and without receipts, to isolate those costs (not in quick). */
  isolateCosts: boolean;
  /**
   * Figure 4b: a group of `members`, `online` of them connected, `singles` sends `gapMs` apart,
   * then a burst; each window ends `settleMs` after its last delivery and `coverMs` after its
   * first send, so that what the messages leave for later (receipts, timers, alarms) is counted.
   */
  cost: {
    members: number;
    online: number;
    singles: number;
    gapMs: number;
    burst: number;
    settleMs: number;
    coverMs: number;
  };
  /**
   * Figure 4d: a group of `members`, all online; `repeats` pairs of bursts of `burst` texts and
   * of `burst` reactions, each with `window` sends in flight, then `countedWindows` counted windows
   * of each kind, in turn, each `countedBursts` bursts' worth of entries sent one in flight. A burst's fan-out takes about as long as its entries' one after
   * another (a burst of 50 to 1,024 members took 15.6 s here), so 20 pairs of 10 keep it to minutes.
   */
  reactions: {
    members: number;
    burst: number;
    window: number;
    repeats: number;
    countedBursts: number;
    countedWindows: number;
  };
  /** Figure 7: files of `sizes` bytes (the largest's upload also samples memory), each timed `repeats` times. */
  attachments: { sizes: number[]; repeats: number };
  /**
   * Figure 8: `samples` sends, each to a new offline recipient with one subscribed device, timed
   * to the push's arrival; then one send into a group whose `members` others are all offline and
   * subscribed, timed to the last of their pushes.
   */
  push: { samples: number; members: number };
  /** Figure 4c: `online` members of a group of `members` (null: not run); adding members stops after `budgetMs`. */
  bigGroup: { members: number; online: number; budgetMs: number } | null;
}

export const PARAMS: Record<Mode, Params> = {
  smoke: {
    stepMs: 200,
    drainMs: 5_000,
    maxSteps: 4,
    sloMs: 50,
    latencySamples: 0,
    chats: 3,
    groups: 2,
    groupSize: 3,
    fanoutSizes: [4],
    fanoutSends: 2,
    syncMessages: 120,
    idleSockets: 10,
    waitForHibernation: false,
    bodyBytes: 64,
    compareServers: false,
    isolateCosts: false,
    cost: { members: 8, online: 2, singles: 2, gapMs: 200, burst: 5, settleMs: 1_000, coverMs: 0 },
    reactions: { members: 4, burst: 3, window: 3, repeats: 2, countedBursts: 1, countedWindows: 1 },
    attachments: { sizes: [64 * 1024], repeats: 1 },
    push: { samples: 2, members: 3 },
    bigGroup: null,
  },
  quick: {
    stepMs: 700,
    drainMs: 15_000,
    maxSteps: 6,
    sloMs: 50,
    latencySamples: 0,
    chats: 20,
    groups: 10,
    groupSize: 10,
    fanoutSizes: [50, 100],
    fanoutSends: 3,
    syncMessages: 2_000,
    idleSockets: 400,
    waitForHibernation: true,
    bodyBytes: 64,
    compareServers: false,
    isolateCosts: false,
    cost: { members: 1024, online: 16, singles: 5, gapMs: 2_000, burst: 50, settleMs: 31_000, coverMs: 11_000 },
    reactions: { members: 100, burst: 10, window: 10, repeats: 20, countedBursts: 5, countedWindows: 2 },
    attachments: { sizes: [10 * 2 ** 20, 100 * 2 ** 20], repeats: 1 },
    push: { samples: 20, members: 100 },
    bigGroup: null,
  },
  full: {
    stepMs: 3_000,
    drainMs: 10_000,
    maxSteps: 12,
    sloMs: 50,
    latencySamples: 1_200,
    chats: 100,
    groups: 100,
    groupSize: 10,
    fanoutSizes: [500, 1024],
    fanoutSends: 20,
    syncMessages: 10_000,
    idleSockets: 5_000,
    waitForHibernation: true,
    bodyBytes: 64,
    compareServers: true,
    isolateCosts: true,
    cost: { members: 1024, online: 16, singles: 20, gapMs: 2_000, burst: 50, settleMs: 31_000, coverMs: 11_000 },
    reactions: { members: 1024, burst: 10, window: 10, repeats: 20, countedBursts: 5, countedWindows: 2 },
    attachments: { sizes: [10 * 2 ** 20, 100 * 2 ** 20], repeats: 3 },
    push: { samples: 20, members: 1000 },
    bigGroup: { members: 10_000, online: 100, budgetMs: 180_000 },
  },
};

/** Where a latency percentile comes from: pQ (nearest rank) over `samples` samples, and their max. */
export interface PercentileStat {
  q: number;
  samples: number;
  max: number;
}

/** Samples that must lie above a percentile for the report to give it. */
export const SAMPLES_ABOVE = 10;

/**
 * The one rule for percentiles: pQ of n samples is reported only when at least ten samples lie
 * above it, n × (100 − Q) / 100 ≥ 10, so p50 needs 20 samples and p99 1,000. Below that the
 * percentile is a single outlier or two (by nearest rank a p99 of 20 is their max), and the
 * report gives the max of n instead, judges no target by it and computes no ratio from it.
 */
export function reportable(q: number, samples: number): boolean {
  return samples * (100 - q) >= SAMPLES_ABOVE * 100;
}

export interface Baseline {
  name: string;
  value: number;
  unit: string;
  /** When the value is a latency percentile; it is then the max if the samples are too few for it. */
  stat?: PercentileStat;
}

export interface FigureResult {
  name: string;
  value: number | null;
  unit: string;
  baseline: Baseline | null;
  /** value / baseline.value; for latencies and memory lower is better, for rates higher. */
  ratio: number | null;
  conditions: Record<string, unknown>;
  /** When the value is a latency percentile; it is then the max if the samples are too few for it. */
  stat?: PercentileStat;
}

export interface Bench {
  mode: Mode;
  params: Params;
  runId: string;
  secret: string;
  server: BenchServer;
  agents: Agent[];
  groups: { available: boolean; reason: string };
  results: FigureResult[];
  /** `--only <regex>`: run only the figures and baselines whose names match. */
  only?: RegExp;
  log(message: string): void;
}

export function wsUrl(server: BenchServer, path: string): string {
  return `${server.url.replace(/^http/, "ws")}${path}`;
}

export interface Device {
  userId: string;
  device: string;
  /** Index of the agent that holds the socket. */
  agent: number;
}

export const keyOf = (d: Pick<Device, "userId" | "device">) => `${d.userId}/${d.device}`;

export function deviceSpec(bench: Bench, d: Device): ConnSpec {
  return {
    key: keyOf(d),
    kind: "app",
    url: wsUrl(bench.server, `/v1/connect?device=${encodeURIComponent(d.device)}`),
    token: signToken(d.userId, bench.secret),
  };
}

/** A socket to the echo object named `key` (SQLite-backed, or key-value with `storage: "kv"`), or to the Node echo server. */
export function echoSpec(server: BenchServer, key: string, storage: "sql" | "kv" = "sql"): ConnSpec {
  const path = server.kind === "node-echo" ? "/" : `/bench/echo?storage=${storage}&name=${encodeURIComponent(key)}`;
  return { key, kind: "echo", url: wsUrl(server, path) };
}

/** Opens the sockets on their agents; throws if any failed. */
export async function openAll(bench: Bench, specs: { spec: ConnSpec; agent: number }[], concurrency = 32) {
  const answers = await Promise.all(
    bench.agents.map((agent, i) => {
      const conns = specs.filter((s) => s.agent === i).map((s) => s.spec);
      return conns.length === 0 ? { opened: 0, failed: 0 } : agent.call({ cmd: "open", conns, concurrency });
    }),
  );
  const failed = answers.reduce((n, a) => n + a.failed, 0);
  if (failed > 0) {
    const first = answers.find((a) => "firstError" in a && a.firstError);
    throw new Error(
      `${failed} of ${specs.length} sockets failed to open: ${first && "firstError" in first ? first.firstError : ""}`,
    );
  }
}

export async function closeAll(bench: Bench): Promise<void> {
  await Promise.all(bench.agents.map((a) => a.call({ cmd: "close" })));
}

/** An HTTP call to the bench server as `userId`. */
export async function api(bench: Bench, userId: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${bench.server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${signToken(userId, bench.secret)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Creates a group (`POST /v1/chats`); null with the reason when the server has no groups. */
export async function createGroup(bench: Bench, creator: string, members: string[]): Promise<string> {
  const res = await api(bench, creator, "POST", "/v1/chats", { type: "group", title: "bench", members });
  const chatId = res.body.chatId;
  if (res.status !== 201 || typeof chatId !== "string") {
    throw new Error(`group creation answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return chatId;
}

export function notAvailable(name: string, unit: string, reason: string): FigureResult {
  return { name, value: null, unit, baseline: null, ratio: null, conditions: { note: `n/a (${reason})` } };
}

export function row(
  name: string,
  value: number,
  unit: string,
  baseline: Baseline | null,
  conditions: Record<string, unknown>,
): FigureResult {
  const ratio = baseline && baseline.value > 0 && Number.isFinite(value) ? value / baseline.value : null;
  return { name, value, unit, baseline, ratio, conditions };
}

/** A latency percentile with the count and max of its samples. */
export interface Sampled {
  value: number;
  samples: number;
  max: number;
}

/**
 * A row whose value and baseline are pQ of samples: each side carries its count and max, and
 * reports the max where its samples are too few for pQ; the ratio is given only when both are pQ.
 */
export function percentileRow(
  name: string,
  unit: string,
  q: number,
  got: Sampled,
  baseline: { name: string; got: Sampled } | null,
  conditions: Record<string, unknown>,
): FigureResult {
  const side = (s: Sampled) => ({
    value: reportable(q, s.samples) ? s.value : s.max,
    stat: { q, samples: s.samples, max: s.max },
  });
  const mine = side(got);
  const base = baseline ? { name: baseline.name, unit, ...side(baseline.got) } : null;
  const r = row(name, mine.value, unit, base, conditions);
  const both = reportable(q, got.samples) && (!baseline || reportable(q, baseline.got.samples));
  return { ...r, ratio: both ? r.ratio : null, stat: mine.stat };
}

/** A load step's latency for a row's conditions: the count and max of its samples, and each percentile they suffice for. */
export function stepLatency(s: { samples: number; max: number; p50: number; p99: number }): Record<string, number> {
  const out: Record<string, number> = { samples: s.samples, max: s.max };
  if (reportable(50, s.samples)) out.p50 = s.p50;
  if (reportable(99, s.samples)) out.p99 = s.p99;
  return out;
}

/** A figure's row as another row's baseline; null when it measured nothing. */
export function baselineOf(r: FigureResult | null): Baseline | null {
  return r?.value ? { name: r.name, value: r.value, unit: r.unit } : null;
}

/** A load step's latency for a row's conditions (see `stepLatency`); none without a step. */
export function latencyOf(s: Parameters<typeof stepLatency>[0] | null): Record<string, number> {
  return s ? stepLatency(s) : {};
}

/** Runs `fn`; on failure records a row naming the error instead of the figure. */
export async function figure(bench: Bench, name: string, unit: string, fn: () => Promise<void>): Promise<void> {
  if (bench.only && !bench.only.test(name)) return;
  const idle = await awaitIdle(bench.server);
  bench.log(
    `${name}${idle.waitedMs > 1_000 ? ` (after ${(idle.waitedMs / 1000).toFixed(1)} s for the server to be idle)` : ""}`,
  );
  try {
    await fn();
  } catch (err) {
    bench.log(`    failed: ${String(err)}`);
    bench.results.push({ ...notAvailable(name, unit, "failed"), conditions: { error: String(err).slice(0, 300) } });
  }
}
