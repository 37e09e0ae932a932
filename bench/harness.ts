/**
 * The benchmark run: builds, starts the servers and the client agents, measures the baselines
 * and figures 1-8 in one run, and answers the rows. A figure that fails or needs what the
 * server lacks (groups) becomes a row with no value and the reason, never a crash of the run.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { buildWorker, bundleNodeScripts, removeRunDir } from "./bundle";
import { type Bench, createGroup, type FigureResult, type Mode, PARAMS } from "./context";
import { attachmentFigures } from "./figures/attachments";
import { memoryFigures } from "./figures/memory";
import { pushFigures } from "./figures/push";
import { compareSetups, type SetupCost } from "./figures/setups";
import { Agent } from "./fleet";
import { devVars } from "./local-env";
import { measureAll } from "./measure";
import { type BenchServer, startNodeEcho, startWorkerd } from "./servers";
import { round } from "./stats";

export interface RunOptions {
  mode: Mode;
  log?: (message: string) => void;
  agents?: number;
  /** Only compare the ways of running the server (`--setups`). */
  setupsOnly?: boolean;
  /** Run only the figures and baselines whose names match (`--only`). */
  only?: RegExp;
}

export interface RunMeta {
  mode: Mode;
  startedAt: string;
  durationS: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string };
  /** The machine's load average (1 min) when the run started and ended: other work skews every figure. */
  loadAverage: { start: number; end: number };
  server: string;
  setups: SetupCost[];
}

export interface RunOutput {
  results: FigureResult[];
  meta: RunMeta;
}

async function groupsAvailable(bench: Bench): Promise<{ available: boolean; reason: string }> {
  try {
    await createGroup(bench, `${bench.runId}-probe`, [`${bench.runId}-probe2`]);
    return { available: true, reason: "" };
  } catch (err) {
    return { available: false, reason: `groups not available: ${String(err).slice(0, 120)}` };
  }
}

export async function runBench(options: RunOptions): Promise<RunOutput> {
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const params = PARAMS[options.mode];
  const log = options.log ?? (() => {});
  const [scripts, build] = await Promise.all([bundleNodeScripts(), buildWorker()]);
  const agents = Array.from({ length: options.agents ?? 2 }, (_, i) => Agent.start(scripts.agent, `agent${i}`));
  const servers: BenchServer[] = [];
  const setups: SetupCost[] = [];
  try {
    const server = await startWorkerd(build);
    servers.push(server);
    const nodeEcho = await startNodeEcho(scripts);
    servers.push(nodeEcho);
    const bench: Bench = {
      mode: options.mode,
      params,
      runId: `b${Date.now().toString(36)}`,
      secret: devVars().JWT_SECRET ?? "",
      server,
      agents,
      groups: { available: false, reason: "" },
      results: [],
      only: options.only,
      log,
    };
    bench.groups = await groupsAvailable(bench);
    if (!bench.groups.available) log(`(${bench.groups.reason})`);
    if (!options.setupsOnly) {
      await measureAll(bench, nodeEcho, build);
      await memoryFigures(bench, build, scripts);
      await attachmentFigures(bench, build, scripts);
      await pushFigures(bench);
    }
    if ((params.compareServers && !options.only) || options.setupsOnly)
      setups.push(...(await compareSetups(bench, build, scripts)));
    return {
      results: bench.results,
      meta: {
        mode: options.mode,
        startedAt: new Date(started).toISOString(),
        durationS: round((Date.now() - started) / 1000, 1),
        machine: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model ?? "?",
          memGiB: round(totalmem() / 2 ** 30, 1),
          node: process.version,
        },
        loadAverage: { start: round(loadAtStart, 2), end: round(loadavg()[0] ?? 0, 2) },
        server: "workerd serve (bench bundle from wrangler deploy --dry-run), Durable Object state on disk",
        setups,
      },
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    removeRunDir();
  }
}
