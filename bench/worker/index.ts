/**
 * Bench only, never deployed: the production Worker and objects unchanged, plus `/bench/echo`,
 * a WebSocket echo through Worker and Durable Object (no auth, no storage) as the baseline,
 * `/bench/floor`, the object that measures the floor of a fan-out, `/bench/gc`, a full garbage
 * collection where workerd runs with --expose-gc (the bench does), `/bench/r2` (PUT streams the
 * body into the `ATTACHMENTS` bucket, GET streams it back: figure 7's baseline), `/bench/fetch`
 * (one plain `fetch` to a given URL: figure 8's baseline) and `/bench/counters` (GET
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

/** A plain put (through a fixed-length stream, as R2 needs a known length) or get of the same bytes. */
async function bareR2(request: Request, bucket: R2Bucket, key: string): Promise<Response> {
  if (request.method === "PUT") {
    const size = Number(request.headers.get("content-length"));
    if (!request.body || !Number.isSafeInteger(size) || size <= 0) return new Response("no body", { status: 400 });
    const fixed = new FixedLengthStream(size);
    const contentType = request.headers.get("content-type") ?? "application/octet-stream";
    const [, stored] = await Promise.all([
      request.body.pipeTo(fixed.writable),
      bucket.put(key, fixed.readable, { httpMetadata: { contentType } }),
    ]);
    return Response.json({ size: stored?.size ?? 0 });
  }
  const object = await bucket.get(key);
  if (!object) return new Response("not found", { status: 404 });
  const type = object.httpMetadata?.contentType ?? "application/octet-stream";
  return new Response(object.body, { headers: { "Content-Type": type, "Content-Length": String(object.size) } });
}

export default {
  async fetch(request, env, ctx) {
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
    if (url.pathname === "/bench/r2") return bareR2(request, env.ATTACHMENTS, url.searchParams.get("key") ?? "bench");
    if (url.pathname === "/bench/fetch") {
      const target = url.searchParams.get("url") ?? "";
      const res = await fetch(target, { method: "POST", body: request.body });
      await res.arrayBuffer();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/bench/counters") {
      const counts = readCounters();
      if (request.method === "POST") resetCounters();
      return Response.json(counts);
    }
    return app.fetch(request, countingEnv(env, "Worker"), ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
