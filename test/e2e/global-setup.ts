/** Starts one real local server (wrangler dev, state on disk) for all end-to-end tests. */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { startLocalServer } from "../../tools/local-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // The page's bundle must exist before the server starts: building it later would make wrangler reload mid-test.
  execFileSync("npm", ["run", "--silent", "build:web"], { stdio: "inherit" });
  const server = await startLocalServer();
  project.provide("baseUrl", server.url);
  return async () => {
    await server.stop();
  };
}
