/** Starts one real local server (wrangler dev, state on disk) for all end-to-end tests. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalServer } from "../../tools/local-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    /** The wrangler process, leader of the server's process group (workerd included), for memory probes. */
    serverPid: number;
    /** The server's state on disk (R2's emulated bucket included). */
    persistDir: string;
    /** The server's output (its log lines among wrangler's own), appended as it comes. */
    serverLog: string;
  }
}

export default async function setup(project: TestProject) {
  // The page's bundle must exist before the server starts: building it later would make wrangler reload mid-test.
  execFileSync("npm", ["run", "--silent", "build:web"], { stdio: "inherit" });
  const logDir = mkdtempSync(join(tmpdir(), "edge-chat-log-"));
  const serverLog = join(logDir, "server.log");
  const server = await startLocalServer({ logFile: serverLog });
  project.provide("baseUrl", server.url);
  project.provide("serverPid", server.process.pid ?? 0);
  project.provide("persistDir", server.persistDir);
  project.provide("serverLog", serverLog);
  return async () => {
    await server.stop();
    // A fresh temporary directory per run, named nowhere: hundreds of MiB of test files once done.
    rmSync(server.persistDir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  };
}
