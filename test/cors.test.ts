/**
 * CORS on the HTTP API and health routes: exactly the origins of `ALLOWED_ORIGINS` get
 * `Access-Control-Allow-Origin`; unset, no origin does. Preflights are answered 204 before
 * authentication, with the allowed methods and request headers; real answers, errors included,
 * carry the headers a page may read.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../worker/app";
import { tokenFor, unique } from "./helpers/client";

const BASE = "https://chat.example";
const ALLOWED = "https://app.example";
const OTHER = "https://evil.example";

function envWith(vars: Partial<Env>): Env {
  return { ...env, ...vars } as unknown as Env;
}

const configured = envWith({ ALLOWED_ORIGINS: `${ALLOWED}, https://second.example` });

function preflight(path: string, origin: string, method = "POST"): Request {
  return new Request(`${BASE}${path}`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": method,
      "Access-Control-Request-Headers": "authorization, content-type",
    },
  });
}

describe("CORS", () => {
  it("a preflight from an allowed origin: 204 before authentication, methods and headers allowed", async () => {
    for (const path of ["/v1/chats", "/v1/chats/some-chat/messages", "/v1/me/data", "/health/deep"]) {
      const res = await app.fetch(preflight(path, "https://second.example", "DELETE"), configured);
      expect(res.status, path).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin"), path).toBe("https://second.example");
      const methods = (res.headers.get("Access-Control-Allow-Methods") ?? "").split(",");
      expect(methods.sort()).toEqual(["DELETE", "GET", "PATCH", "POST", "PUT"]);
      const headers = (res.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase().split(",");
      expect(headers.sort()).toEqual(["authorization", "content-type"]);
      expect(res.headers.get("Vary")).toContain("Origin");
    }
  });

  it("a preflight from another origin, or with ALLOWED_ORIGINS unset, gets no Allow-Origin", async () => {
    const refused = await app.fetch(preflight("/v1/chats", OTHER), configured);
    expect(refused.status).toBe(204);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
    // A prefix or suffix of an allowed origin is another origin.
    const lookalike = await app.fetch(preflight("/v1/chats", `${ALLOWED}.evil.example`), configured);
    expect(lookalike.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const unset = await app.fetch(preflight("/v1/chats", ALLOWED), envWith({ ALLOWED_ORIGINS: undefined }));
    expect(unset.status).toBe(204);
    expect(unset.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("real answers carry Allow-Origin and the exposed headers, 401s and 404s too; others get none", async () => {
    const token = await tokenFor(unique("cors"));
    const ok = await app.fetch(
      new Request(`${BASE}/v1/chats`, { headers: { Origin: ALLOWED, Authorization: `Bearer ${token}` } }),
      configured,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    const exposed = (ok.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase().split(",");
    expect(exposed).toContain("x-request-id");
    expect(exposed).toContain("retry-after");

    const noToken = await app.fetch(new Request(`${BASE}/v1/chats`, { headers: { Origin: ALLOWED } }), configured);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);

    const other = await app.fetch(
      new Request(`${BASE}/v1/chats`, { headers: { Origin: OTHER, Authorization: `Bearer ${token}` } }),
      configured,
    );
    expect(other.status).toBe(200);
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const health = await app.fetch(new Request(`${BASE}/health`, { headers: { Origin: ALLOWED } }), configured);
    expect(health.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
  });

  it("a WebSocket upgrade from an allowed origin still opens (CORS leaves it alone)", async () => {
    const token = await tokenFor(unique("cors-ws"));
    const res = await app.fetch(
      new Request(`${BASE}/v1/connect?device=web`, {
        headers: { Upgrade: "websocket", Origin: ALLOWED, Authorization: `Bearer ${token}` },
      }),
      configured,
    );
    expect(res.status).toBe(101);
    const socket = res.webSocket;
    expect(socket).toBeTruthy();
    socket?.accept();
    socket?.close(1000, "done");
  });
});
