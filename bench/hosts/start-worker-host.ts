/**
 * Runs the bench Worker with wrangler's `unstable_startWorker` (wrangler's dev proxy in front),
 * for the comparison of local server setups. Args: wrangler config, port, persist dir, env file.
 */
import { unstable_startWorker } from "wrangler";

const [config, port, persist, envFile] = process.argv.slice(2) as [string, string, string, string];
const worker = await unstable_startWorker({
  config,
  envFiles: [envFile],
  dev: { server: { hostname: "127.0.0.1", port: Number(port) }, inspector: false, persist, watch: false },
});
await worker.ready;
process.send?.({ ready: true });
const stop = () => void worker.dispose().finally(() => process.exit(0));
process.on("disconnect", stop);
process.on("SIGTERM", stop);
