/** The project's root folder, found upwards from a module that may run bundled from node_modules/.cache. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "wrangler.toml")) && existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
