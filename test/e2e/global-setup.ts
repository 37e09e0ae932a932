/** Starts one real local server (wrangler dev, state on disk) for all end-to-end tests. */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startLocalServer } from "../../tools/local-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    /** The wrangler process, leader of the server's process group (workerd included), for memory probes. */
    serverPid: number;
    /** The server's state on disk (R2's emulated bucket included). */
    persistDir: string;
  }
}

export default async function setup(project: TestProject) {
  // The page's bundle must exist before the server starts: building it later would make wrangler reload mid-test.
  execFileSync("npm", ["run", "--silent", "build:web"], { stdio: "inherit" });
  const server = await startLocalServer();
  project.provide("baseUrl", server.url);
  project.provide("serverPid", server.process.pid ?? 0);
  project.provide("persistDir", server.persistDir);
  return async () => {
    await server.stop();
    // A fresh temporary directory per run, named nowhere: hundreds of MiB of test files once done.
    rmSync(server.persistDir, { recursive: true, force: true });
  };
}
