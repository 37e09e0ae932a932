/**
 * Entry point of `npm run serve` (see `serve.ts`): PORT (default 8787) and SERVE_STATE (default
 * `.wrangler/serve-state`) from the environment; Ctrl-C stops it.
 */
import { serve } from "./serve";

const served = await serve({
  port: Number(process.env.PORT ?? 8787),
  ...(process.env.SERVE_STATE ? { stateDir: process.env.SERVE_STATE } : {}),
});
console.log(`edge-chat: the built bundle at ${served.url} (state in ${served.stateDir}); Ctrl-C stops it`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  served.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error("stopping failed", err);
      process.exit(1);
    },
  );
};
// Miniflare's own signal hook exits with 130 before `dispose` finishes: this one replaces it
// (its "exit" hook, which kills workerd if this process dies otherwise, stays).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, stop);
}
