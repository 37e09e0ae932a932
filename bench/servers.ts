/**
 * The ways the bench can run the service locally, all on the same bench bundle and the same
 * workerd that wrangler ships: workerd directly with a generated config (what the bench uses),
 * Miniflare, `unstable_startWorker` and `wrangler dev` (for the comparison of their costs), and
 * the plain Node echo server. Durable Object state goes to a directory on disk.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../tools/local-server";
import type { NodeScripts, WorkerBuild } from "./bundle";
import { tracked } from "./cleanup";
import { devVars, ROOT } from "./local-env";
import { workerdPids } from "./processes";

export type ServerKind = "workerd" | "miniflare" | "start-worker" | "wrangler-dev";

export interface BenchServer {
  kind: ServerKind | "node-echo";
  url: string;
  /** The processes whose memory the bench reads (the workerd processes, or the Node echo server). */
  runtimePids(): number[];
  /** A full garbage collection, where the server offers one (workerd: `/bench/gc`; Node: over IPC). */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The per-user send limit is policy, not capacity: the bench lifts it so that one sender can
 * load one chat (production's default is 20/s with a burst of 100, see objects/settings.ts).
 */
export const BENCH_VARS: Record<string, string> = { SEND_RATE_PER_SECOND: "1000000", SEND_BURST: "1000000" };

const serverVars = () => ({ ...devVars(), ...BENCH_VARS });

const wranglerRequire = createRequire(createRequire(join(ROOT, "package.json")).resolve("wrangler/package.json"));

/** The workerd binary that the project's wrangler runs (its package is CommonJS: `default` is the path). */
export function workerdBinary(): string {
  return (wranglerRequire("workerd") as { default: string }).default;
}

export function miniflareModulePath(): string {
  return wranglerRequire.resolve("miniflare");
}

/** State on disk (os tmpdir, a real disk here) unless `dir` says otherwise, e.g. a tmpfs. */
function stateDir(base?: string): string {
  return mkdtempSync(join(base ?? tmpdir(), "edge-chat-bench-"));
}

/** --expose-gc for the memory figure; BENCH_V8_FLAGS adds more, e.g. --perf-basic-prof for `perf`. */
function v8Flags(): string[] {
  return ["--expose-gc", ...(process.env.BENCH_V8_FLAGS ?? "").split(" ").filter((f) => f.length > 0)];
}

function capnpConfig(build: WorkerBuild, port: number, state: string, vars: Record<string, string>): string {
  const q = JSON.stringify;
  const modules = build.modules.map((m) => `(name = ${q(m.name)}, ${m.type} = embed ${q(m.name)})`).join(",\n    ");
  const bindings = [
    ...Object.entries(vars).map(([k, v]) => `(name = ${q(k)}, text = ${q(v)})`),
    ...[
      ["USER", "UserObject"],
      ["CHAT", "ChatObject"],
      ["RELAY", "RelayObject"],
      ["ECHO", "EchoObject"],
      ["ECHO_KV", "EchoKvObject"],
      ["FLOOR", "FloorObject"],
    ].map(([b, c]) => `(name = ${q(b)}, durableObjectNamespace = ${q(c)})`),
  ].join(",\n    ");
  const classes = ["UserObject", "ChatObject", "RelayObject", "EchoObject", "EchoKvObject", "FloorObject"]
    .map((c) => `(className = ${q(c)}, uniqueKey = ${q(`edge-chat-${c}`)}, enableSql = ${c !== "EchoKvObject"})`)
    .join(",\n    ");
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "do-storage", disk = (path = ${q(state)}, writable = true)),
    # Figure 8's pushes go to a push service on 127.0.0.1, which workerd's default outbound refuses.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = ${q(`127.0.0.1:${port}`)}, http = (), service = "main")],
  v8Flags = ${JSON.stringify(v8Flags())},
);
const mainWorker :Workerd.Worker = (
  modules = [
    ${modules}
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    ${bindings}
  ],
  durableObjectNamespaces = [
    ${classes}
  ],
  durableObjectStorage = (localDisk = "do-storage"),
);
`;
}

/** Three full collections through the bench Worker's `/bench/gc` (workerd runs with --expose-gc). */
async function gcOver(url: string): Promise<void> {
  for (let i = 0; i < 3; i++) await fetch(`${url}/bench/gc`);
}

/** Waits until a just-started server answers `/health`, and answers its URL; stops it and throws if it never does. */
async function serverUp(child: ChildProcess, port: number, stop: () => Promise<void>): Promise<string> {
  const output = capture(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, output);
  } catch (err) {
    await stop();
    throw err;
  }
  return url;
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not healthy in 60 s:\n${output()}`);
}

function capture(child: ChildProcess): () => string {
  let out = "";
  const add = (d: unknown) => {
    out = (out + String(d)).slice(-8000);
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => out;
}

/** Stops a child (or its whole process group); `first` is the first signal, SIGKILL follows after 5 s. */
function stopper(
  child: ChildProcess,
  group: boolean,
  cleanup: () => void,
  first: NodeJS.Signals = "SIGTERM",
): () => Promise<void> {
  return tracked(async () => {
    const signal = (s: NodeJS.Signals) => {
      try {
        if (group && child.pid) process.kill(-child.pid, s);
        else child.kill(s);
      } catch {
        // already gone
      }
    };
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      signal(first);
      const timer = setTimeout(() => signal("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  });
}

/**
 * workerd serving the bench bundle directly: no proxy, no entry worker in front. `vars`
 * override the server's variables (dev.env and BENCH_VARS), e.g. a larger MAX_GROUP_MEMBERS.
 */
export async function startWorkerd(
  build: WorkerBuild,
  opts: { stateBase?: string; vars?: Record<string, string> } = {},
): Promise<BenchServer> {
  const port = await freePort();
  const state = stateDir(opts.stateBase);
  const configPath = join(build.dir, `bench-${port}.capnp`);
  writeFileSync(configPath, capnpConfig(build, port, state, { ...serverVars(), ...opts.vars }));
  const child = spawn(workerdBinary(), ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  // SIGKILL at once: workerd drains open sockets on SIGTERM, and the bench's state is thrown away anyway.
  const stop = stopper(
    child,
    false,
    () => {
      rmSync(state, { recursive: true, force: true });
      rmSync(configPath, { force: true });
    },
    "SIGKILL",
  );
  const url = await serverUp(child, port, stop);
  return { kind: "workerd", url, runtimePids: () => (child.pid ? [child.pid] : []), gc: () => gcOver(url), stop };
}

/** A Node host process (Miniflare or unstable_startWorker) that reports `{ready}` over IPC. */
async function startHost(kind: ServerKind, script: string, args: (port: number, state: string) => string[]) {
  const port = await freePort();
  const state = stateDir();
  const child = fork(script, args(port, state), {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  const stop = stopper(child, true, () => rmSync(state, { recursive: true, force: true }));
  const url = await serverUp(child, port, stop);
  return { kind, url, runtimePids: () => (child.pid ? workerdPids(child.pid) : []), gc: () => gcOver(url), stop };
}

export function startMiniflare(build: WorkerBuild, scripts: NodeScripts): Promise<BenchServer> {
  return startHost("miniflare", scripts.miniflareHost, (port, state) => [
    miniflareModulePath(),
    build.dir,
    JSON.stringify(build.modules),
    String(port),
    state,
    JSON.stringify(serverVars()),
  ]);
}

export function startStartWorker(build: WorkerBuild, scripts: NodeScripts): Promise<BenchServer> {
  return startHost("start-worker", scripts.startWorkerHost, (port, state) => [
    build.configPath,
    String(port),
    state,
    join(ROOT, "dev.env"),
  ]);
}

/** `wrangler dev` on the bench config, as tools/local-server.ts runs it for the e2e tests. */
export async function startWranglerDev(build: WorkerBuild): Promise<BenchServer> {
  const port = await freePort();
  const state = stateDir();
  const args = ["dev", "--config", build.configPath, "--env-file", "dev.env", "--port", String(port)];
  args.push("--ip", "127.0.0.1", "--persist-to", state, "--show-interactive-dev-session=false");
  args.push("--inspector-port", String(await freePort()));
  for (const [k, v] of Object.entries(BENCH_VARS)) args.push("--var", `${k}:${v}`);
  const child = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  const stop = stopper(child, true, () => rmSync(state, { recursive: true, force: true }));
  const url = await serverUp(child, port, stop);
  return {
    kind: "wrangler-dev",
    url,
    runtimePids: () => (child.pid ? workerdPids(child.pid) : []),
    gc: () => gcOver(url),
    stop,
  };
}

export async function startNodeEcho(scripts: NodeScripts): Promise<BenchServer> {
  const child = fork(scripts.nodeEcho, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: ["--expose-gc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", () => reject(new Error("node echo server exited")));
  });
  return {
    kind: "node-echo",
    url: `http://127.0.0.1:${port}`,
    runtimePids: () => (child.pid ? [child.pid] : []),
    gc: () =>
      new Promise<void>((resolve) => {
        const done = (m: unknown) => {
          if ((m as { gcDone?: boolean }).gcDone) {
            child.off("message", done);
            resolve();
          }
        };
        child.on("message", done);
        child.send({ gc: true });
      }),
    stop: stopper(child, false, () => {}),
  };
}
