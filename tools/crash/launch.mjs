/**
 * Entry of `npm run test:crash`: bundles the TypeScript crash test with esbuild into
 * node_modules/.cache (so `ws` still resolves) and runs it with this Node, passing arguments on.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const outfile = join(import.meta.dirname, "../../node_modules/.cache/edge-chat-crash/main.mjs");
await build({
  entryPoints: [join(import.meta.dirname, "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  packages: "external",
  logLevel: "error",
  // tools/local-server.ts finds the project from its own folder, which bundling would move.
  define: { "import.meta.dirname": JSON.stringify(join(import.meta.dirname, "..")) },
});
await import(pathToFileURL(outfile).href);
