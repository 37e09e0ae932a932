/**
 * Builds what the bench runs: the Node scripts of its child processes (esbuild, into
 * node_modules/.cache so that `ws` still resolves) and the bench Worker bundle, which is the
 * production app plus the echo object, built by `wrangler deploy --dry-run` as `npm run build` does.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { ROOT } from "./local-env";

export const CACHE = join(ROOT, "node_modules/.cache/edge-chat-bench");
/** This run's own build directory, so that two runs (a bench and the smoke test) never share one. */
export const RUN_DIR = join(CACHE, `run-${process.pid}`);

export function removeRunDir(): void {
  rmSync(RUN_DIR, { recursive: true, force: true });
}

export interface NodeScripts {
  agent: string;
  nodeEcho: string;
  miniflareHost: string;
  startWorkerHost: string;
}

export async function bundleNodeScripts(): Promise<NodeScripts> {
  const outdir = join(RUN_DIR, "node");
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: {
      agent: join(ROOT, "bench/agent.ts"),
      "node-echo": join(ROOT, "bench/node-echo.ts"),
      "miniflare-host": join(ROOT, "bench/hosts/miniflare-host.ts"),
      "start-worker-host": join(ROOT, "bench/hosts/start-worker-host.ts"),
    },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    packages: "external",
    logLevel: "error",
  });
  return {
    agent: join(outdir, "agent.mjs"),
    nodeEcho: join(outdir, "node-echo.mjs"),
    miniflareHost: join(outdir, "miniflare-host.mjs"),
    startWorkerHost: join(outdir, "start-worker-host.mjs"),
  };
}

export interface WorkerBuild {
  dir: string;
  /** The entry module first, then the Text modules (migrations' .sql) it imports. */
  modules: { name: string; type: "esModule" | "text" }[];
  configPath: string;
}

/** The bench Worker: `wrangler deploy --dry-run --config bench/wrangler.bench.toml`. */
export async function buildWorker(): Promise<WorkerBuild> {
  const dir = join(RUN_DIR, "worker");
  const configPath = join(ROOT, "bench/wrangler.bench.toml");
  rmSync(dir, { recursive: true, force: true });
  await promisify(execFile)(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--config", configPath, "--outdir", dir],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" } },
  );
  const files = readdirSync(dir);
  const modules: WorkerBuild["modules"] = [{ name: "index.js", type: "esModule" }];
  for (const f of files) if (f.endsWith(".sql")) modules.push({ name: f, type: "text" });
  return { dir, modules, configPath };
}
