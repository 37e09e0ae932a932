/**
 * Bench only, never deployed: the production Worker and objects unchanged, plus `/bench/echo`,
 * a WebSocket echo through Worker and Durable Object (no auth, no storage) as the baseline, and
 * `/bench/gc`, a full garbage collection where workerd runs with --expose-gc (the bench does).
 */
import app from "../../worker/index";
import type { EchoKvObject, EchoObject } from "./echo-object";

export { ChatObject, UserObject } from "../../worker/index";
export { EchoKvObject, EchoObject } from "./echo-object";

interface BenchEnv extends Env {
  ECHO: DurableObjectNamespace<EchoObject>;
  ECHO_KV: DurableObjectNamespace<EchoKvObject>;
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/bench/gc") {
      // Only with workerd's --expose-gc (the bench's config): lets the memory figure read a settled heap.
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      return new Response(gc ? "collected" : "no gc", { status: gc ? 200 : 501 });
    }
    if (url.pathname === "/bench/echo") {
      const name = url.searchParams.get("name") ?? "echo";
      const ns = url.searchParams.get("storage") === "kv" ? env.ECHO_KV : env.ECHO;
      return ns.get(ns.idFromName(name)).fetch(request);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
