/**
 * Starts the service locally (`wrangler dev`, state on disk) for end-to-end tests, the crash
 * test and the benchmark, and stops or kills it. Node only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findProjectRoot } from "./project-root";

export interface LocalServer {
  url: string;
  port: number;
  persistDir: string;
  process: ChildProcess;
  /** Ends the server gracefully and waits for it. */
  stop(): Promise<void>;
  /** SIGKILLs the whole process group (the crash test's fault). */
  kill(): Promise<void>;
}

export interface LocalServerOptions {
  port?: number;
  persistDir?: string;
  /** Extra variables, e.g. SEND_BURST for a test that sends fast. */
  vars?: Record<string, string>;
  log?: boolean;
  /** Appends the server's output here, whole lines only (the e2e log checks read it). */
  logFile?: string;
}

const ROOT = findProjectRoot(import.meta.dirname);

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const port = options.port ?? (await freePort());
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "edge-chat-"));
  const args = [
    "dev",
    "--env-file",
    "dev.env",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    "--inspector-port",
    String(await freePort()),
  ];
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push("--var", `${k}:${v}`);
  const child = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", options.log ? "inherit" : "pipe", options.log ? "inherit" : "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output = (output + String(d)).slice(-8000);
  });
  child.stderr?.on("data", (d) => {
    output = (output + String(d)).slice(-8000);
  });
  if (options.logFile) {
    const file = options.logFile;
    for (const stream of [child.stdout, child.stderr]) {
      // Each stream's lines are kept whole, so that stdout and stderr do not interleave mid-line.
      let partial = "";
      stream?.on("data", (d) => {
        const text = partial + String(d);
        const end = text.lastIndexOf("\n") + 1;
        partial = text.slice(end);
        try {
          if (end > 0) appendFileSync(file, text.slice(0, end));
        } catch {
          // The file's directory is gone (its run tore down): the server goes on without it.
        }
      });
    }
  }
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const server: LocalServer = {
    url,
    port,
    persistDir,
    process: child,
    async stop() {
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      killGroup("SIGKILL");
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await server.kill();
  throw new Error(`wrangler dev did not become healthy in 60 s:\n${output}`);
}
