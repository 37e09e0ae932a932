/**
 * `npm run serve`: the built Worker bundle (`wrangler deploy --dry-run`, as `npm run build`
 * builds it, top-level configuration) served by Miniflare, without wrangler dev's proxy: what to
 * load-test locally. Bindings and assets come from wrangler.toml, variables from dev.env, and
 * state (Durable Objects, R2) persists under `.wrangler/serve-state`, apart from `npm start`'s.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { devVars } from "../bench/local-env";
import { miniflareModulePath } from "../bench/servers";
import { findProjectRoot } from "./project-root";

const ROOT = findProjectRoot(import.meta.dirname);
export const DEFAULT_STATE = join(ROOT, ".wrangler/serve-state");

/** The part of Miniflare used here (wrangler's copy, whose version differs from the hoisted one). */
interface MiniflareModule {
  Miniflare: new (options: unknown) => { ready: Promise<URL>; dispose(): Promise<void> };
  /** Miniflare 5 takes `workers: [...]`; wrangler still answers the one-worker (v4) shape. */
  convertV4MiniflareOptions?: (options: unknown) => unknown;
}

export interface ServeOptions {
  port?: number;
  /** Where state persists; relative paths are from the project root. */
  stateDir?: string;
  /** Where the bundle is built (thrown away and rebuilt on every start). */
  buildDir?: string;
}

export interface Served {
  url: string;
  stateDir: string;
  stop(): Promise<void>;
}

/** Builds the bundle as `npm run build` does, for the top-level (local) configuration. */
async function buildBundle(dir: string): Promise<{ type: "ESModule" | "Text"; path: string }[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await promisify(execFile)(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", dir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  const sql = readdirSync(dir).filter((f) => f.endsWith(".sql"));
  return [
    { type: "ESModule", path: join(dir, "index.js") },
    ...sql.map((f) => ({ type: "Text" as const, path: join(dir, f) })),
  ];
}

/** Builds and serves; answers once the server answers `/health`. */
export async function serve(options: ServeOptions = {}): Promise<Served> {
  const port = options.port ?? 8787;
  const stateDir = resolve(ROOT, options.stateDir ?? DEFAULT_STATE);
  const buildDir = options.buildDir ?? join(ROOT, "node_modules/.cache/edge-chat-serve", String(process.pid));
  const modules = await buildBundle(buildDir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
  // The bundle replaces the sources and their module rules.
  const { modulesRules: _rules, ...fromConfig } = workerOptions;
  const mod = (await import(pathToFileURL(miniflareModulePath()).href)) as MiniflareModule;
  const v4 = {
    ...fromConfig,
    host: "127.0.0.1",
    port,
    modules,
    modulesRoot: buildDir,
    bindings: { ...(fromConfig.bindings ?? {}), ...devVars() },
    resourcePersistencePath: stateDir,
  };
  const mf = new mod.Miniflare(mod.convertV4MiniflareOptions ? mod.convertV4MiniflareOptions(v4) : v4);
  const url = new URL(await mf.ready).origin;
  await untilHealthy(url);
  return {
    url,
    stateDir,
    stop: async () => {
      await mf.dispose();
      rmSync(buildDir, { recursive: true, force: true });
    },
  };
}

async function untilHealthy(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${url}/health did not answer 200 in 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
