/**
 * JWT authentication: `sub` is the user id, `exp` is required, `nbf` and `iat` are honoured.
 * HS256 tokens are checked with `JWT_SECRET`, and during a rotation with `JWT_SECRET_PREVIOUS`
 * too (dev tokens are signed with `JWT_SECRET` only); RS256 and ES256 tokens with the identity
 * provider's key whose `kid` they name (`JWT_JWKS` or `JWT_JWKS_URL`, see `jwks.ts`), and then `iss` and
 * `aud` must match `JWT_ISSUER` and `JWT_AUDIENCE` when those are set. Each path fixes its
 * algorithm (HS256, or the key's own), never the token, so `alg: none`, a public key used as
 * an HMAC secret and a token naming another algorithm than its key are all refused.
 */
import { decode, sign, verify, verifyWithJwks } from "hono/jwt";
import { userIdSchema } from "../protocol";
import { hasKeySource, JWKS_ALGS, type KeySource, keysFor } from "./jwks";

export const JWT_ALG = "HS256";
const DEV_TOKEN_TTL_S = 24 * 60 * 60;

/** `iat`: when the token was issued (seconds), if it says: routes that need a recent sign-in check it. */
export type AuthResult = { ok: true; userId: string; iat?: number } | { ok: false; message: string };

/** What tokens are checked with: the HS256 secret, the identity provider's keys and claims. */
export type AuthConfig = KeySource & { secret?: string; previousSecret?: string; issuer?: string; audience?: string };

export function authConfigOf(env: Env): AuthConfig {
  return {
    secret: env.JWT_SECRET || undefined,
    previousSecret: env.JWT_SECRET_PREVIOUS || undefined,
    jwks: env.JWT_JWKS || undefined,
    jwksUrl: env.JWT_JWKS_URL || undefined,
    issuer: env.JWT_ISSUER || undefined,
    audience: env.JWT_AUDIENCE || undefined,
  };
}

/** False when no token could ever be verified: then every authenticated route fails closed. */
export function authConfigured(config: AuthConfig): boolean {
  return Boolean(config.secret) || hasKeySource(config);
}

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

export async function authenticate(token: string | null, config: AuthConfig): Promise<AuthResult> {
  if (!token) return { ok: false, message: "missing bearer token" };
  let header: Record<string, unknown>;
  try {
    header = { ...decode(token).header };
  } catch {
    return { ok: false, message: "malformed token" };
  }
  let payload: Record<string, unknown>;
  try {
    if (header.alg === JWT_ALG && config.secret) {
      payload = await verifyHs256(token, config.secret, config.previousSecret);
    } else if (isJwksAlg(header.alg) && hasKeySource(config)) {
      if (typeof header.kid !== "string" || header.kid === "") return { ok: false, message: "token has no kid" };
      const found = await keysFor(header.kid, config);
      if (!found.ok) return found;
      payload = await verifyWithJwks(token, {
        keys: found.keys,
        allowedAlgorithms: JWKS_ALGS,
        verification: { iss: config.issuer, aud: config.audience },
      });
    } else {
      return { ok: false, message: `token algorithm must be ${acceptedAlgs(config)}` };
    }
  } catch (err) {
    return { ok: false, message: describeJwtError(err) };
  }
  if (typeof payload.exp !== "number") return { ok: false, message: "token has no exp claim" };
  const sub = userIdSchema.safeParse(payload.sub);
  if (!sub.success) return { ok: false, message: "token sub is not a valid user id" };
  return { ok: true, userId: sub.data, iat: typeof payload.iat === "number" ? payload.iat : undefined };
}

export function issueToken(userId: string, secret: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return sign({ sub: userId, iat, exp: iat + DEV_TOKEN_TTL_S }, secret, JWT_ALG);
}

/** Verifies with `secret`; a signature that does not match it is tried with `previous`, if set. */
async function verifyHs256(token: string, secret: string, previous: string | undefined) {
  try {
    return await verify(token, secret, JWT_ALG);
  } catch (err) {
    if (!previous || !(err instanceof Error) || err.name !== "JwtTokenSignatureMismatched") throw err;
    return verify(token, previous, JWT_ALG);
  }
}

function isJwksAlg(alg: unknown): alg is (typeof JWKS_ALGS)[number] {
  return JWKS_ALGS.some((a) => a === alg);
}

/** "HS256", "RS256 or ES256", or "HS256, RS256 or ES256". */
function acceptedAlgs(config: AuthConfig): string {
  const algs = [...(config.secret ? [JWT_ALG] : []), ...(hasKeySource(config) ? JWKS_ALGS : [])];
  return algs.length > 1 ? `${algs.slice(0, -1).join(", ")} or ${algs.at(-1)}` : algs.join("");
}

function describeJwtError(err: unknown): string {
  const name = err instanceof Error ? err.name : "";
  switch (name) {
    case "JwtTokenExpired":
      return "token expired";
    case "JwtTokenNotBefore":
      return "token not yet valid";
    case "JwtTokenIssuedAt":
      return "token issued in the future";
    case "JwtTokenSignatureMismatched":
      return "bad token signature";
    case "JwtAlgorithmMismatch":
    case "JwtAlgorithmNotAllowed":
    case "JwtSymmetricAlgorithmNotAllowed":
      return "token algorithm does not match its key";
    case "JwtTokenIssuer":
      return "token issuer is not accepted";
    case "JwtTokenAudience":
    case "JwtPayloadRequiresAud":
      return "token audience is not accepted";
    default:
      return "malformed token";
  }
}
