/**
 * Runs a TypeScript entry point with this Node (`npm run bench`, `npm run test:crash`): bundles
 * it with esbuild into node_modules/.cache, where its dependencies still resolve, and imports
 * it with the remaining arguments as its own.
 */
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const [entry, ...args] = process.argv.slice(2);
if (!entry) throw new Error("usage: node tools/run-ts.mjs <entry.ts> [args...]");
const root = resolve(import.meta.dirname, "..");
const name = relative(root, resolve(entry)).replace(/[^A-Za-z0-9]+/g, "-");
const outfile = join(root, "node_modules/.cache/edge-chat-run", `${name}.mjs`);
await build({
  entryPoints: [resolve(entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  packages: "external",
  logLevel: "error",
});
process.argv = [process.argv[0] ?? "node", outfile, ...args];
await import(pathToFileURL(outfile).href);
