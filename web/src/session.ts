/**
 * Who is signed in on this browser, their device id, and tokens from the development token
 * route, cached until shortly before they expire.
 */
import { devToken, newDeviceId } from "../../client";

const USER_KEY = "edge-chat:user";

// The signed-in name is kept per tab (it survives reloads), so two tabs can be two people.
export function savedUser(): string | null {
  try {
    return sessionStorage.getItem(USER_KEY);
  } catch {
    return null;
  }
}

export function saveUser(userId: string | null): void {
  try {
    if (userId) sessionStorage.setItem(USER_KEY, userId);
    else sessionStorage.removeItem(USER_KEY);
  } catch {
    // Without storage the user signs in again on the next visit.
  }
}

/** One device id per user on this browser (two tabs of one user take turns: see "Use here"), kept across visits (cursors and outbox belong to it). */
export function deviceIdFor(userId: string): string {
  const key = `edge-chat:device:${userId}`;
  try {
    const known = localStorage.getItem(key);
    if (known) return known;
    const fresh = newDeviceId("web");
    localStorage.setItem(key, fresh);
    return fresh;
  } catch {
    return newDeviceId("web");
  }
}

/** A getToken for the SDK: reuses a token until a minute before its `exp`. */
export function tokenSource(baseUrl: string, userId: string): () => Promise<string> {
  let token: string | null = null;
  let expiresAt = 0;
  return async () => {
    if (token && Date.now() < expiresAt - 60_000) return token;
    token = await devToken(baseUrl, userId);
    expiresAt = expiryOf(token);
    return token;
  };
}

function expiryOf(jwt: string): number {
  try {
    const payload = jwt.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}
