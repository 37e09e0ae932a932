/**
 * Which Chromium the browser tests drive. One rule, the same as .ci/run's: `$CHROMIUM_PATH` if it
 * is set, else the first `chromium` on `PATH` (what `command -v chromium` finds). No browser is an
 * error that says how to get one, never a reason to skip.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export const INSTALL_HINT =
  "the browser tests need Chromium: install it (Debian/Ubuntu: `apt-get install chromium`) " +
  "or set CHROMIUM_PATH=/path/to/chromium (any Chromium or Chrome executable)";

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The Chromium executable to launch; throws with {@link INSTALL_HINT} when there is none. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    if (isExecutableFile(chosen)) return chosen;
    throw new Error(`CHROMIUM_PATH=${chosen} is not an executable file; ${INSTALL_HINT}`);
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir || ".", "chromium");
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(`no Chromium: CHROMIUM_PATH is not set and there is no \`chromium\` on PATH; ${INSTALL_HINT}`);
}
