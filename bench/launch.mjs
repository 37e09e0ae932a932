/**
 * Entry of `npm run bench`: bundles the TypeScript bench with esbuild (a direct dependency)
 * into node_modules/.cache and runs it with this Node, passing the arguments on.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const outfile = join(import.meta.dirname, "../node_modules/.cache/edge-chat-bench/cli.mjs");
await build({
  entryPoints: [join(import.meta.dirname, "cli.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  packages: "external",
  logLevel: "error",
});
await import(pathToFileURL(outfile).href);
