/**
 * Figure 6: resident memory per idle connection, on one fresh server, in phases. Each phase
 * opens more silent sockets at a fixed pace, waits until their objects hibernate (workerd
 * evicts an object 10 s after its last event), forces a full GC (`/bench/gc`, workerd runs
 * with --expose-gc) and reads the workerd RSS (the median of three readings). The figure is the
 * growth from the first phase of app sockets to the last, divided by the sockets added in
 * between: memory that one more idle connection really holds, free of the one-off cost of the
 * first objects.
 * The pace is what makes it hold still: workerd's allocator (tcmalloc, with no background
 * release) keeps what it freed, so RSS follows the high-water mark of live memory plus the
 * objects awake at once, and those are the sockets opened in the last 10 s. Opened as fast as
 * the machine allows, that count followed the machine's load and the figure spread 42–133 KB;
 * paced, it is about the same in the phases of one run (a loaded machine keeps a lower pace,
 * but in every phase alike), and cancels out of the growth.
 * Baselines, measured the same way: a bare echo socket on its own Durable Object (the same
 * one-object-per-user shape), echo sockets all on one object (the socket alone), and the
 * plain Node `ws` server (in its own process, in parallel).
 */
import type { ConnSpec } from "../agent-protocol";
import type { NodeScripts, WorkerBuild } from "../bundle";
import { type Bench, closeAll, deviceSpec, echoSpec, figure, openAll, row } from "../context";
import { openFiles, rssBytes } from "../processes";
import { type BenchServer, startNodeEcho, startWorkerd } from "../servers";
import { round } from "../stats";

/** workerd evicts an idle object after 10 s; a little more lets every one go. */
const EVICTION_WAIT_MS = 12_500;
/** Sockets opened per second, at most: the row's `paceKept` says what each phase managed. */
const PACE_PER_S = 25;
const RSS_READINGS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

async function settledRss(server: BenchServer, waitMs: number): Promise<number> {
  await sleep(waitMs);
  const readings: number[] = [];
  for (let i = 0; i < RSS_READINGS; i++) {
    if (i > 0) await sleep(500);
    await server.gc();
    readings.push(rssBytes(server.runtimePids()));
  }
  return readings.sort((a, b) => a - b)[Math.floor(RSS_READINGS / 2)] ?? 0;
}

type Kind = "app" | "echo-per-object" | "echo-one-object";

function specs(bench: Bench, server: BenchServer, kind: Kind, phase: number, n: number): ConnSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `${bench.runId}-f6${phase}-${i}`;
    if (kind === "app") return deviceSpec({ ...bench, server }, { userId: name, device: "phone", agent: 0 });
    // Key-value echo objects: no database file each, which keeps 5,000 sockets within the fd limit.
    const spec = echoSpec(server, kind === "echo-one-object" ? `${bench.runId}-f6-one` : name, "kv");
    return { ...spec, key: name };
  });
}

/** Opens `conns` at `PACE_PER_S` (one second's worth at a time); answers the pace kept, per second. */
async function openPhase(bench: Bench, conns: ConnSpec[]): Promise<number> {
  const started = Date.now();
  for (let at = 0; at < conns.length; at += PACE_PER_S) {
    const second = Date.now();
    const chunk = conns.slice(at, at + PACE_PER_S);
    await openAll(
      bench,
      chunk.map((spec, i) => ({ spec, agent: i % bench.agents.length })),
      PACE_PER_S,
    );
    await sleep(1_000 - (Date.now() - second));
  }
  return conns.length / Math.max((Date.now() - started) / 1000, 1e-3);
}

/** Runs phases on one fresh server; answers the settled RSS after each (and Node's, when given). */
async function phases(
  bench: Bench,
  server: BenchServer,
  plan: { label: string; kind: Kind; count: number }[],
  node: BenchServer | null,
): Promise<{
  rss: Record<string, number>;
  node: Record<string, number>;
  resident: Record<string, number>;
  pace: Record<string, number>;
}> {
  const wait = bench.params.waitForHibernation ? EVICTION_WAIT_MS : 500;
  const rss: Record<string, number> = {};
  const nodeRss: Record<string, number> = {};
  const resident: Record<string, number> = {};
  const pace: Record<string, number> = {};
  const started = Date.now();
  // Warm up: code loaded, first objects created and evicted.
  const warmKind = plan[0]?.kind ?? "app";
  await openPhase(bench, specs(bench, server, warmKind, 90, 20));
  rss.start = await settledRss(server, wait);
  for (const [i, { label, kind, count }] of plan.entries()) {
    const nodeConns = node ? specs(bench, node, "echo-per-object", 50 + i, count) : [];
    // Node's sockets need no pace: its memory holds no awake objects.
    await openAll(
      bench,
      nodeConns.map((spec, j) => ({ spec, agent: j % bench.agents.length })),
      64,
    );
    pace[label] = round(await openPhase(bench, specs(bench, server, kind, i, count)), 1);
    rss[label] = await settledRss(server, wait);
    // An object in memory has its SQLite WAL open; a hibernated one does not.
    resident[label] = openFiles(server.runtimePids(), ".sqlite-wal");
    if (node) nodeRss[label] = await settledRss(node, 0);
    const at = ((Date.now() - started) / 1000).toFixed(0);
    bench.log(
      `    ${label} (+${count}, ${pace[label]}/s): workerd ${mib(rss[label] ?? 0)} MiB, ${resident[label]} objects awake, at ${at} s`,
    );
  }
  return { rss, node: nodeRss, resident, pace };
}

/**
 * Memory per idle connection: the app in three phases (Node's echo server filled alongside),
 * and in the full run the echo shapes on a fresh server of their own. The row says how many
 * user objects were still awake at each reading (an unwatched user's object sets no timer).
 */
export async function memoryFigures(bench: Bench, build: WorkerBuild, scripts: NodeScripts): Promise<void> {
  const n = bench.params.idleSockets;
  const half = Math.floor(n / 2);
  const third = Math.floor(n / 3);
  const name = `6. memory per idle connection (${n} hibernated)`;
  const common = {
    hibernationWaitS: bench.params.waitForHibernation ? EVICTION_WAIT_MS / 1000 : 0.5,
    forcedGc: true,
    pingEveryS: 25,
    openPerS: PACE_PER_S,
    rssReadings: `median of ${RSS_READINGS}`,
  };
  const kb = (a = 0, b = 0, count = half) => (b - a) / count / 1024;
  let echoKb: number | null = null;
  let nodeKb: number | null = null;
  if (bench.mode !== "quick") {
    await figure(bench, "6. baselines: echo sockets", "KB", async () => {
      const echoCount = Math.min(half, 1_000);
      const server = await startWorkerd(build);
      try {
        const r = await phases(
          bench,
          server,
          [
            { label: "echo1", kind: "echo-per-object", count: echoCount },
            { label: "echo2", kind: "echo-per-object", count: echoCount },
            { label: "echoOne", kind: "echo-one-object", count: echoCount },
          ],
          null,
        );
        echoKb = kb(r.rss.echo1, r.rss.echo2, echoCount);
        bench.results.push(
          row("baseline: DO echo, one object per idle socket", echoKb, "KB", null, {
            ...common,
            sockets: echoCount * 2,
            storage: "key-value (no SQLite file)",
            paceKept: [r.pace.echo1, r.pace.echo2],
          }),
          row(
            "baseline: DO echo, idle sockets all on one object",
            kb(r.rss.echo2, r.rss.echoOne, echoCount),
            "KB",
            null,
            {
              ...common,
              sockets: echoCount,
            },
          ),
        );
      } finally {
        await server.stop();
        // After the server: closing live sockets would wake every object.
        await closeAll(bench);
      }
    });
  }
  await figure(bench, name, "KB", async () => {
    const server = await startWorkerd(build);
    const node = await startNodeEcho(scripts);
    try {
      const r = await phases(
        bench,
        server,
        [
          { label: "app1", kind: "app", count: n - 2 * third },
          { label: "app2", kind: "app", count: third },
          { label: "app3", kind: "app", count: third },
        ],
        node,
      );
      nodeKb = kb(r.node.app1, r.node.app3, 2 * third);
      const e = echoKb as number | null;
      bench.results.push(
        row(
          name,
          kb(r.rss.app1, r.rss.app3, 2 * third),
          "KB",
          e === null ? null : { name: "DO echo, one object per socket", value: e, unit: "KB" },
          {
            ...common,
            sockets: n,
            phases: [n - 2 * third, third, third],
            perPhaseKb: [kb(r.rss.app1, r.rss.app2, third), kb(r.rss.app2, r.rss.app3, third)].map((v) => round(v, 1)),
            shape: "one user (one user object) per socket",
            rssBeforeMiB: mib(r.rss.start ?? 0),
            rssAfterMiB: mib(r.rss.app3 ?? 0),
            naiveKb: round(((r.rss.app3 ?? 0) - (r.rss.start ?? 0)) / n / 1024, 1),
            objectsAwakeAtReadings: [r.resident.app1, r.resident.app2, r.resident.app3],
            paceKept: [r.pace.app1, r.pace.app2, r.pace.app3],
            note: "growth from the first app phase to the last / sockets added",
          },
        ),
        row("baseline: Node ws, memory per idle socket", nodeKb, "KB", null, { ...common, sockets: n }),
      );
    } finally {
      await Promise.all([server.stop(), node.stop()]);
      await closeAll(bench);
    }
  });
}
