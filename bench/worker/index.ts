/**
 * Bench only, never deployed: the production Worker and objects unchanged, plus `/bench/echo`,
 * a WebSocket echo through Worker and Durable Object (no auth, no storage) as the baseline,
 * `/bench/floor`, the object that measures the floor of a fan-out, `/bench/gc`, a full garbage
 * collection where workerd runs with --expose-gc (the bench does), and `/bench/counters` (GET
 * reads, POST reads and resets) with the calls between objects and the SQLite commits that the
 * objects below count: the app's classes under their own names, handed a counting `env` and
 * `ctx.storage`.
 */
import app, {
  ChatObject as AppChatObject,
  RelayObject as AppRelayObject,
  UserObject as AppUserObject,
} from "../../worker/index";
import { countingEnv, countStorage, readCounters, resetCounters } from "./counters";
import type { EchoKvObject, EchoObject } from "./echo-object";
import type { FloorObject } from "./floor-object";

export { EchoKvObject, EchoObject } from "./echo-object";
export { FloorObject } from "./floor-object";

export class ChatObject extends AppChatObject {
  constructor(ctx: DurableObjectState, env: Env) {
    countStorage(ctx, "ChatObject");
    super(ctx, countingEnv(env, "ChatObject"));
  }
}

export class RelayObject extends AppRelayObject {
  constructor(ctx: DurableObjectState, env: Env) {
    countStorage(ctx, "RelayObject");
    super(ctx, countingEnv(env, "RelayObject"));
  }
}

export class UserObject extends AppUserObject {
  constructor(ctx: DurableObjectState, env: Env) {
    countStorage(ctx, "UserObject");
    super(ctx, countingEnv(env, "UserObject"));
  }
}

interface BenchEnv extends Env {
  ECHO: DurableObjectNamespace<EchoObject>;
  ECHO_KV: DurableObjectNamespace<EchoKvObject>;
  FLOOR: DurableObjectNamespace<FloorObject>;
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
    if (url.pathname === "/bench/floor") {
      const name = url.searchParams.get("name") ?? "floor";
      return env.FLOOR.get(env.FLOOR.idFromName(name)).fetch(request);
    }
    if (url.pathname === "/bench/counters") {
      const counts = readCounters();
      if (request.method === "POST") resetCounters();
      return Response.json(counts);
    }
    return app.fetch(request, countingEnv(env, "Worker"), ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
