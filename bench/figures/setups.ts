/**
 * What each way of running the service locally costs: the same bench bundle started with
 * workerd directly, Miniflare, `unstable_startWorker` and `wrangler dev`, each timed to healthy
 * and measured with the bare echo through Worker and Durable Object (closed loop, 1 socket).
 */
import type { NodeScripts, WorkerBuild } from "../bundle";
import { type Bench, closeAll, echoSpec, figure, openAll, row } from "../context";
import { rssBytes } from "../processes";
import {
  type BenchServer,
  type ServerKind,
  startMiniflare,
  startStartWorker,
  startWorkerd,
  startWranglerDev,
} from "../servers";
import { round } from "../stats";
import { echoAtRate, loadOnAgents } from "./echo";

export interface SetupCost {
  kind: ServerKind;
  startMs: number;
  echoPerSecond: number;
  rttP50: number;
  rttP99: number;
  /** Round trips behind rttP50/rttP99, and their max. */
  rttSamples: number;
  rttMax: number;
  processes: number;
  rssBytes: number;
}

export async function measureSetup(
  bench: Bench,
  kind: ServerKind,
  start: () => Promise<BenchServer>,
  rss: (pids: number[]) => number,
): Promise<SetupCost> {
  const t0 = Date.now();
  const server = await start();
  const startMs = Date.now() - t0;
  try {
    const b = { ...bench, server };
    const key = `${bench.runId}-setup-${kind}`;
    await openAll(b, [{ spec: echoSpec(server, key), agent: 0 }]);
    await loadOnAgents(b, [[{ key }]], 0, 500, 32);
    const closed = await loadOnAgents(b, [[{ key }]], 0, 2_000, 32);
    await closeAll(b);
    const light = await echoAtRate(b, { server, sockets: 1, prefix: `setup-${kind}-rtt` }, 200, 1_500);
    return {
      kind,
      startMs,
      echoPerSecond: closed.inWindow / 2,
      rttP50: light.p50,
      rttP99: light.p99,
      rttSamples: light.samples,
      rttMax: light.max,
      processes: server.runtimePids().length,
      rssBytes: rss(server.runtimePids()),
    };
  } finally {
    await server.stop();
  }
}

/** Starts the bench bundle each way in turn and measures it; answers the costs and adds rows. */
export async function compareSetups(bench: Bench, build: WorkerBuild, scripts: NodeScripts): Promise<SetupCost[]> {
  const out: SetupCost[] = [];
  const starts: [SetupCost["kind"], () => Promise<BenchServer>][] = [
    ["workerd", () => startWorkerd(build)],
    ["miniflare", () => startMiniflare(build, scripts)],
    ["start-worker", () => startStartWorker(build, scripts)],
    ["wrangler-dev", () => startWranglerDev(build)],
  ];
  for (const [kind, start] of starts) {
    await figure(bench, `setup: ${kind}`, "frames/s", async () => {
      const c = await measureSetup(bench, kind, start, rssBytes);
      out.push(c);
      bench.log(`    start ${c.startMs} ms, echo ${Math.round(c.echoPerSecond)}/s, rtt p50 ${c.rttP50.toFixed(2)} ms`);
    });
  }
  const direct = out.find((c) => c.kind === "workerd");
  for (const c of out) {
    bench.results.push(
      row(
        `setup: ${c.kind}, DO echo closed loop`,
        c.echoPerSecond,
        "frames/s",
        direct ? { name: "workerd serve, same echo", value: direct.echoPerSecond, unit: "frames/s" } : null,
        {
          startMs: c.startMs,
          rttP50: c.rttP50,
          rttP99: c.rttP99,
          workerdProcesses: c.processes,
          workerdRssMiB: round(c.rssBytes / 2 ** 20, 1),
        },
      ),
    );
  }
  return out;
}
