/**
 * `npm run bench [-- --quick]`: runs the benchmark, prints the table and writes
 * bench/results/latest.{json,md,svg} (a quick run: quick.*), and a dated copy under bench/results/runs/.
 * `-- --smoke` runs the tiny version and writes nothing; `-- --serve [--tmpfs]` only starts the
 * bench server, for profiling by hand; `-- --setups` only compares the ways of running the server;
 * `-- --only <regex>` runs only the figures and baselines whose names match, and writes nothing;
 * `-- --report [latest|quick]` measures nothing and renders the .md and .svg again from the .json.
 */
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildWorker, removeRunDir } from "./bundle";
import { stopOnSignals, tracked } from "./cleanup";
import type { Mode } from "./context";
import { runBench } from "./harness";
import { ROOT } from "./local-env";
import { rerenderReport, table, writeReport } from "./report";
import { startWorkerd } from "./servers";

stopOnSignals();
const argv = process.argv.slice(2);
const args = new Set(argv);
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? onlyPattern(argv[onlyAt + 1]) : undefined;

function onlyPattern(source: string | undefined): RegExp {
  try {
    if (!source || source.startsWith("--")) throw new Error("a pattern must follow --only");
    return new RegExp(source);
  } catch (err) {
    console.error(`--only: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}
const mode: Mode = args.has("--smoke") ? "smoke" : args.has("--quick") ? "quick" : "full";
const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

if (args.has("--report")) {
  const base = argv[argv.indexOf("--report") + 1] ?? "latest";
  if (base !== "latest" && base !== "quick") {
    console.error("--report: latest or quick");
    process.exit(2);
  }
  rerenderReport(join(ROOT, "bench/results"), base);
  console.log(`rendered bench/results/${base}.{md,svg} from ${base}.json`);
  process.exit(0);
}

if (args.has("--serve")) {
  // For profiling by hand: the bench server alone, until Ctrl-C.
  tracked(async () => removeRunDir());
  const server = await startWorkerd(await buildWorker(), args.has("--tmpfs") ? { stateBase: "/dev/shm" } : {});
  console.log(`bench server at ${server.url} (workerd pid ${server.runtimePids().join(",")}); Ctrl-C stops it`);
  await new Promise(() => {});
}

const out = await runBench({ mode, log, setupsOnly: args.has("--setups"), only });
console.log(`\n${table(out.results)}\n`);
if (mode !== "smoke" && !args.has("--setups") && !only) {
  // latest.* is always a full run (what the README quotes); a quick run writes quick.*.
  const base = mode === "full" ? "latest" : "quick";
  const dir = join(ROOT, "bench/results");
  const files = writeReport(dir, out.results, out.meta, base);
  const runs = join(dir, "runs", `${out.meta.startedAt.replace(/[:.]/g, "-")}-${mode}`);
  mkdirSync(runs, { recursive: true });
  for (const f of files) cpSync(join(dir, f), join(runs, f));
  console.log(`wrote bench/results/${base}.{json,md,svg} in ${out.meta.durationS} s`);
}
