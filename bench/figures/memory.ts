/**
 * Figure 6: resident memory per idle connection, on one fresh server, in phases. Each phase
 * opens more silent sockets, waits until their objects hibernate (workerd evicts an object
 * 10 s after its last event), forces a full GC (`/bench/gc`, workerd runs with --expose-gc)
 * and reads the workerd RSS. The figure is the growth between the phases of app sockets
 * divided by the sockets added: memory that one more idle connection really holds, free of
 * the one-off cost of the first objects and of what the allocator keeps after a peak.
 * Baselines, measured the same way: a bare echo socket on its own Durable Object (the same
 * one-object-per-user shape), echo sockets all on one object (the socket alone), and the
 * plain Node `ws` server (in its own process, in parallel).
 */
import type { ConnSpec } from "../agent-protocol";
import type { NodeScripts, WorkerBuild } from "../bundle";
import { type Bench, closeAll, deviceSpec, echoSpec, figure, openAll, row } from "../context";
import { rssBytes } from "../processes";
import { type BenchServer, startNodeEcho, startWorkerd } from "../servers";
import { round } from "../stats";

/** workerd evicts an idle object after 10 s; a little more lets every one go. */
const EVICTION_WAIT_MS = 12_500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

async function settledRss(server: BenchServer, waitMs: number): Promise<number> {
  await sleep(waitMs);
  if (server.kind !== "node-echo") {
    for (let i = 0; i < 3; i++) await fetch(`${server.url}/bench/gc`);
  }
  return rssBytes(server.runtimePids());
}

type Kind = "app" | "echo-per-object" | "echo-one-object";

function specs(bench: Bench, server: BenchServer, kind: Kind, phase: number, n: number): ConnSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `${bench.runId}-f6${phase}-${i}`;
    if (kind === "app") return deviceSpec({ ...bench, server }, { userId: name, device: "phone", agent: 0 });
    const spec = echoSpec(server, kind === "echo-one-object" ? `${bench.runId}-f6-one` : name);
    return { ...spec, key: name };
  });
}

async function openPhase(bench: Bench, conns: ConnSpec[]): Promise<void> {
  await openAll(
    bench,
    conns.map((spec, i) => ({ spec, agent: i % bench.agents.length })),
    64,
  );
}

/**
 * Memory per idle connection. The echo phases run first (their objects never wake again); the
 * two app phases come last, because a user object wakes for its presence check about a minute
 * after its device connected. The quick run measures the app phases only.
 */
export async function memoryFigures(bench: Bench, build: WorkerBuild, scripts: NodeScripts): Promise<void> {
  const n = bench.params.idleSockets;
  const half = Math.floor(n / 2);
  const wait = bench.params.waitForHibernation ? EVICTION_WAIT_MS : 500;
  const withEcho = bench.mode !== "quick";
  const name = `6. memory per idle connection (${n} hibernated)`;
  await figure(bench, name, "KB", async () => {
    const server = await startWorkerd(build);
    const node = await startNodeEcho(scripts);
    try {
      // Warm up: code loaded, first objects created and evicted.
      await openPhase(bench, specs(bench, server, "app", 9, 20));
      const r0 = await settledRss(server, wait);
      const n0 = rssBytes(node.runtimePids());
      const rss: Record<string, number> = {};
      const nodeRss: number[] = [];
      const started = Date.now();
      const run = async (label: string, kind: Kind, phase: number, count: number) => {
        const nodeConns = kind === "app" ? specs(bench, node, "echo-per-object", phase + 5, count) : [];
        await openPhase(bench, [...specs(bench, server, kind, phase, count), ...nodeConns]);
        rss[label] = await settledRss(server, wait);
        if (kind === "app") nodeRss.push(rssBytes(node.runtimePids()));
        bench.log(
          `    ${label} (+${count}): workerd ${mib(rss[label] ?? 0)} MiB at ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      };
      if (withEcho) {
        await run("echo1", "echo-per-object", 1, half);
        await run("echo2", "echo-per-object", 2, half);
        await run("echoOne", "echo-one-object", 3, half);
      }
      const before = withEcho ? (rss.echoOne ?? 0) : r0;
      await run("app1", "app", 4, n - half);
      const app1Ms = Date.now() - started;
      await run("app2", "app", 5, half);
      const kb = (a = 0, b = 0, count = half) => (b - a) / count / 1024;
      const appKb = kb(rss.app1, rss.app2);
      const nodeKb = kb(nodeRss[0], nodeRss[1]);
      const echoKb = withEcho ? kb(rss.echo1, rss.echo2) : null;
      const common = { hibernationWaitS: wait / 1000, forcedGc: true, pingEveryS: 25 };
      bench.results.push(
        row(
          name,
          appKb,
          "KB",
          echoKb === null ? null : { name: "DO echo, one object per socket", value: echoKb, unit: "KB" },
          {
            ...common,
            sockets: n,
            phases: [n - half, half],
            shape: "one user (one user object) per socket",
            rssBeforeMiB: mib(before),
            rssAfterMiB: mib(rss.app2 ?? 0),
            naiveKb: round(((rss.app2 ?? 0) - before) / n / 1024, 1),
            secondPhaseStartedAtS: round(app1Ms / 1000, 1),
            note: "growth between the two app phases / sockets added",
          },
        ),
        row("baseline: Node ws, memory per idle socket", nodeKb, "KB", null, {
          ...common,
          sockets: n,
          rssBeforeMiB: mib(n0),
        }),
      );
      if (echoKb !== null) {
        bench.results.push(
          row(
            "baseline: DO echo, one object per idle socket",
            echoKb,
            "KB",
            { name: "Node ws per idle socket", value: nodeKb, unit: "KB" },
            { ...common, sockets: n },
          ),
          row("baseline: DO echo, idle sockets all on one object", kb(rss.echo2, rss.echoOne), "KB", null, {
            ...common,
            sockets: half,
          }),
        );
      }
    } finally {
      await Promise.all([server.stop(), node.stop()]);
      // After the servers: closing live sockets would wake every object.
      await closeAll(bench);
    }
  });
}
