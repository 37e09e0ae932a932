/**
 * The signing keys of an identity provider: a JWKS given inline (`JWT_JWKS`) or fetched from
 * `JWT_JWKS_URL`. Only RS256 and ES256 (P-256) signature keys are kept, each with its algorithm
 * fixed from the key itself, so a token can never choose how it is checked. A fetched set is
 * cached per isolate for 10 minutes; an unknown `kid` fetches again, but no URL is fetched more
 * than once a minute, whatever the outcome, and concurrent requests share one fetch.
 */
import { logEvent } from "../objects/log-event";

export const JWKS_ALGS = ["RS256", "ES256"] as const;
export type JwksAlg = (typeof JWKS_ALGS)[number];

/** A public verification key, reduced to the members WebCrypto needs. */
export type PublicJwk =
  | { kty: "RSA"; kid: string; alg: "RS256"; n: string; e: string }
  | { kty: "EC"; kid: string; alg: "ES256"; crv: "P-256"; x: string; y: string };

export const JWKS_TTL_MS = 10 * 60_000;
export const JWKS_REFETCH_MS = 60_000;
export const JWKS_TIMEOUT_MS = 5_000;

export type KeySource = {
  /** A JWKS document as JSON text. */
  jwks?: string;
  /** Where the JWKS document is fetched from. */
  jwksUrl?: string;
  /** The clock of the cache, in ms (tests move it). */
  now?: () => number;
  /** How long a fetch may take, in ms. */
  fetchTimeoutMs?: number;
};

/** The key set to verify a token with, or why there is none. */
export type KeyLookup = { ok: true; keys: PublicJwk[] } | { ok: false; message: string };

type Remote = { keys: PublicJwk[]; fetchedAt: number; attemptAt: number; pending: Promise<void> | null };

const remotes = new Map<string, Remote>();
let inline: { text: string; keys: PublicJwk[] } | null = null;

export function hasKeySource(source: KeySource): boolean {
  return Boolean(source.jwks || source.jwksUrl);
}

/** The keys of every configured source, once one of them has `kid`; fetches when it must. */
export async function keysFor(kid: string, source: KeySource): Promise<KeyLookup> {
  const own = source.jwks ? inlineKeys(source.jwks) : [];
  if (own.some((k) => k.kid === kid)) return { ok: true, keys: own };
  if (!source.jwksUrl) return { ok: false, message: "unknown token key (kid)" };
  const remote = await remoteKeys(source.jwksUrl, kid, source);
  if (!remote) return { ok: false, message: "the identity provider's signing keys are unavailable" };
  const keys = [...own, ...remote];
  return keys.some((k) => k.kid === kid) ? { ok: true, keys } : { ok: false, message: "unknown token key (kid)" };
}

function inlineKeys(text: string): PublicJwk[] {
  if (inline?.text !== text) {
    let keys: PublicJwk[] = [];
    try {
      keys = usableKeys(JSON.parse(text));
      if (keys.length === 0) configError("JWT_JWKS has no RS256 or ES256 signing key");
    } catch (err) {
      configError(`JWT_JWKS is not a JWKS document: ${reasonOf(err)}`);
    }
    inline = { text, keys };
  }
  return inline.keys;
}

/** The fresh keys fetched from `url`, or null when there are none (never fetched, failed, or stale). */
async function remoteKeys(url: string, kid: string, source: KeySource): Promise<PublicJwk[] | null> {
  const now = source.now ?? Date.now;
  let entry = remotes.get(url);
  if (!entry) {
    entry = { keys: [], fetchedAt: Number.NEGATIVE_INFINITY, attemptAt: Number.NEGATIVE_INFINITY, pending: null };
    remotes.set(url, entry);
  }
  const fresh = (e: Remote) => now() - e.fetchedAt < JWKS_TTL_MS;
  if (fresh(entry) && entry.keys.some((k) => k.kid === kid)) return entry.keys;
  if (entry.pending) {
    await entry.pending;
  } else if (now() - entry.attemptAt >= JWKS_REFETCH_MS) {
    const e = entry;
    e.attemptAt = now();
    e.pending = refresh(url, e, now, source.fetchTimeoutMs ?? JWKS_TIMEOUT_MS).finally(() => {
      e.pending = null;
    });
    await e.pending;
  }
  return fresh(entry) ? entry.keys : null;
}

/** Fetches `url` into `entry`; a failure is logged once, with the URL and the reason, and keeps what was there. */
async function refresh(url: string, entry: Remote, now: () => number, timeoutMs: number): Promise<void> {
  try {
    if (!isSafeUrl(url)) throw new Error("the URL must be https (http only for localhost)");
    let res: Response;
    try {
      res = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw err instanceof Error && err.name === "TimeoutError" ? new Error(`no answer within ${timeoutMs} ms`) : err;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const keys = usableKeys(await res.json());
    if (keys.length === 0) configError("the JWKS has no RS256 or ES256 signing key", url);
    entry.keys = keys;
    entry.fetchedAt = now();
  } catch (err) {
    configError(`the JWKS fetch failed: ${reasonOf(err)}`, url);
  }
}

function isSafeUrl(url: string): boolean {
  const u = new URL(url);
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** A JWKS problem: the document and its URL are the operator's settings, so its error text may be logged. */
function configError(reason: string, configUrl?: string): void {
  logEvent("error", "config_error", { source: "Worker", configUrl, reason });
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The RS256 and ES256 signature keys of a JWKS document; throws when it is not one. */
export function usableKeys(doc: unknown): PublicJwk[] {
  const keys = isRecord(doc) ? doc.keys : undefined;
  if (!Array.isArray(keys)) throw new Error('no "keys" array');
  return keys.flatMap((k: unknown) => {
    const key = publicKeyOf(k);
    return key ? [key] : [];
  });
}

/** The key with its algorithm fixed by its type; null for any other key (`oct`, encryption, other algorithms). */
function publicKeyOf(k: unknown): PublicJwk | null {
  if (!isRecord(k) || typeof k.kid !== "string" || k.kid === "") return null;
  if (k.use !== undefined && k.use !== "sig") return null;
  if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes("verify"))) return null;
  const { kid } = k;
  if (k.kty === "RSA" && (k.alg === undefined || k.alg === "RS256")) {
    if (typeof k.n !== "string" || typeof k.e !== "string") return null;
    return { kty: "RSA", kid, alg: "RS256", n: k.n, e: k.e };
  }
  if (k.kty === "EC" && k.crv === "P-256" && (k.alg === undefined || k.alg === "ES256")) {
    if (typeof k.x !== "string" || typeof k.y !== "string") return null;
    return { kty: "EC", kid, alg: "ES256", crv: "P-256", x: k.x, y: k.y };
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
