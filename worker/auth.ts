/**
 * JWT authentication: HS256 only, `sub` is the user id, `exp` is required.
 * The algorithm is fixed here, never taken from the token, so `alg: none` and other
 * algorithms are refused.
 */
import { sign, verify } from "hono/jwt";
import { userIdSchema } from "../protocol";

export const JWT_ALG = "HS256";
const DEV_TOKEN_TTL_S = 24 * 60 * 60;

export type AuthResult = { ok: true; userId: string } | { ok: false; message: string };

/** The one route where a token may come as `?token=`: browsers cannot set headers on a WebSocket. */
const CONNECT_PATH = "/v1/connect";

/** The bearer token of a request: the Authorization header, or `?token=` on the WebSocket upgrade. */
export function tokenOf(req: Request): string | null {
  const header = req.headers.get("Authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m?.[1] ?? "";
  }
  const url = new URL(req.url);
  if (url.pathname === CONNECT_PATH && req.headers.get("Upgrade")?.toLowerCase() === "websocket") {
    return url.searchParams.get("token");
  }
  return null;
}

export async function authenticate(token: string | null, secret: string): Promise<AuthResult> {
  if (!token) return { ok: false, message: "missing bearer token" };
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, JWT_ALG);
  } catch (err) {
    return { ok: false, message: describeJwtError(err) };
  }
  if (typeof payload.exp !== "number") return { ok: false, message: "token has no exp claim" };
  const sub = userIdSchema.safeParse(payload.sub);
  if (!sub.success) return { ok: false, message: "token sub is not a valid user id" };
  return { ok: true, userId: sub.data };
}

export function issueToken(userId: string, secret: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return sign({ sub: userId, iat, exp: iat + DEV_TOKEN_TTL_S }, secret, JWT_ALG);
}

function describeJwtError(err: unknown): string {
  const name = err instanceof Error ? err.name : "";
  switch (name) {
    case "JwtTokenExpired":
      return "token expired";
    case "JwtTokenNotBefore":
      return "token not yet valid";
    case "JwtTokenSignatureMismatched":
      return "bad token signature";
    case "JwtAlgorithmMismatch":
      return `token algorithm must be ${JWT_ALG}`;
    default:
      return "malformed token";
  }
}
