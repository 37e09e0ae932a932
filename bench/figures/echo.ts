/**
 * Echo baselines measured like the figures: the highest sustained echo rate over 1 or N sockets
 * (bare Worker + Durable Object echo, or the plain Node `ws` server), and echo round trips at a
 * fixed rate. Frames are the same JSON `send` frames the figures send, echoed back verbatim.
 */
import type { LoadResult, LoadTarget } from "../agent-protocol";
import { type Bench, closeAll, echoSpec, openAll } from "../context";
import { spread } from "../fleet";
import { findMaxRate, passes, type Search, type Step } from "../rate-search";
import type { BenchServer } from "../servers";
import { summarize } from "../stats";

export interface EchoSetup {
  server: BenchServer;
  sockets: number;
  /** Names the echo objects (one per socket). */
  prefix: string;
}

/** Runs one load over the targets of each agent; answers the merged result. */
export async function loadOnAgents(
  bench: Bench,
  targetsPerAgent: LoadTarget[][],
  rate: number,
  durationMs: number,
  window?: number,
): Promise<LoadResult> {
  const total = targetsPerAgent.reduce((n, t) => n + t.length, 0);
  const results = await Promise.all(
    targetsPerAgent.map((targets, i) =>
      targets.length === 0
        ? null
        : (bench.agents[i]?.call({
            cmd: "load",
            spec: {
              targets,
              rate: rate === 0 ? 0 : (rate * targets.length) / total,
              window,
              durationMs,
              drainMs: bench.params.drainMs,
              bodyBytes: bench.params.bodyBytes,
            },
          }) ?? null),
    ),
  );
  const merged: LoadResult = { sent: 0, completed: 0, inWindow: 0, errors: 0, latencies: [], elapsedMs: 0 };
  for (const r of results) {
    if (!r) continue;
    merged.sent += r.sent;
    merged.completed += r.completed;
    merged.inWindow += r.inWindow;
    merged.errors += r.errors;
    // Not push(...): a spread of 100,000+ samples overflows the stack.
    merged.latencies = merged.latencies.concat(r.latencies);
    merged.elapsedMs = Math.max(merged.elapsedMs, r.elapsedMs);
    merged.firstError ??= r.firstError;
  }
  return merged;
}

/** A closed loop's rate: completions while sending, or over the whole run when the backlog ended later. */
export function closedLoopRate(bench: Bench, r: LoadResult): number {
  const inWindow = r.inWindow / (bench.params.stepMs / 1000);
  const overall = r.elapsedMs > 0 ? r.completed / (r.elapsedMs / 1000) : 0;
  return Math.max(inWindow, overall);
}

/** At least five sends in a step. */
export const minRate = (bench: Bench) => Math.ceil(5_000 / bench.params.stepMs);

export function stepOf(bench: Bench, rate: number, r: LoadResult, durationMs = bench.params.stepMs): Step {
  const s = summarize(r.latencies, r.sent - r.completed);
  return {
    offered: rate,
    achieved: r.completed / (durationMs / 1000),
    p50: s.p50,
    p99: s.p99,
    samples: r.latencies.length + Math.max(0, r.sent - r.completed),
    max: s.max,
    ok: passes(r.sent, r.completed, s.p99, bench.params.sloMs) && r.errors === 0,
  };
}

async function openEcho(bench: Bench, setup: EchoSetup): Promise<LoadTarget[][]> {
  const keys = Array.from({ length: setup.sockets }, (_, i) => `${bench.runId}-${setup.prefix}-${i}`);
  const perAgent = spread(keys, setup.sockets === 1 ? 1 : bench.agents.length);
  await openAll(
    bench,
    perAgent.flatMap((ks, agent) => ks.map((k) => ({ spec: echoSpec(setup.server, k), agent }))),
  );
  return perAgent.map((ks) => ks.map((key) => ({ key })));
}

/** The highest echo rate (frames/s) with p99 round trip under the objective. */
export async function echoMaxRate(bench: Bench, setup: EchoSetup): Promise<Search> {
  const targets = await openEcho(bench, setup);
  try {
    // Warm up: the isolate, the objects and the JIT.
    await loadOnAgents(bench, targets, 0, 300, 4);
    return await findMaxRate(
      async () => {
        const r = await loadOnAgents(bench, targets, 0, bench.params.stepMs, setup.sockets === 1 ? 32 : 4);
        return closedLoopRate(bench, r);
      },
      async (rate) => stepOf(bench, rate, await loadOnAgents(bench, targets, rate, bench.params.stepMs)),
      bench.log,
      minRate(bench),
      bench.params.maxSteps,
    );
  } finally {
    await closeAll(bench);
  }
}

/** Echo round trips at a fixed rate over `setup.sockets` sockets. */
export async function echoAtRate(bench: Bench, setup: EchoSetup, rate: number, durationMs: number): Promise<Step> {
  const targets = await openEcho(bench, setup);
  try {
    await loadOnAgents(bench, targets, 0, 300, 2);
    return stepOf(bench, rate, await loadOnAgents(bench, targets, rate, durationMs), durationMs);
  } finally {
    await closeAll(bench);
  }
}
