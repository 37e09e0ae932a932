/**
 * Runs the bench Worker bundle in Miniflare directly (its own workerd, entry worker in front),
 * for the comparison of local server setups. Args: the Miniflare module wrangler uses, bundle
 * dir, its modules as JSON, port, persist dir, vars as JSON.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The part of Miniflare used here (wrangler's copy, whose version differs from the hoisted one). */
interface MiniflareModule {
  Miniflare: new (options: unknown) => { ready: Promise<URL>; dispose(): Promise<void> };
  convertV4MiniflareOptions?: (options: unknown) => unknown;
}

const [modulePath, dir, modulesJson, port, persist, varsJson] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const modules = (JSON.parse(modulesJson) as { name: string; type: "esModule" | "text" }[]).map((m) => ({
  type: m.type === "esModule" ? "ESModule" : "Text",
  path: join(dir, m.name),
}));
const { Miniflare, convertV4MiniflareOptions } = (await import(pathToFileURL(modulePath).href)) as MiniflareModule;
const options = {
  host: "127.0.0.1",
  port: Number(port),
  modules,
  modulesRoot: dir,
  compatibilityDate: "2026-11-01",
  bindings: JSON.parse(varsJson) as Record<string, string>,
  durableObjects: {
    USER: { className: "UserObject", useSQLite: true },
    CHAT: { className: "ChatObject", useSQLite: true },
    RELAY: { className: "RelayObject", useSQLite: true },
    ECHO: { className: "EchoObject", useSQLite: true },
    ECHO_KV: { className: "EchoKvObject" },
    FLOOR: { className: "FloorObject", useSQLite: true },
  },
  // Figure 7 runs here: plain workerd has no R2 of its own, Miniflare stores buckets on disk under `persist`.
  r2Buckets: ["ATTACHMENTS"],
  resourcePersistencePath: persist,
};
const mf = new Miniflare(convertV4MiniflareOptions ? convertV4MiniflareOptions(options) : options);
await mf.ready;
process.send?.({ ready: true });
const stop = () => void mf.dispose().finally(() => process.exit(0));
process.on("disconnect", stop);
process.on("SIGTERM", stop);
