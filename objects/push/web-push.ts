/**
 * One Web Push (RFC 8030) to one subscription: the payload encrypted per RFC 8291 (`aes128gcm`,
 * padded to the largest record, so its length says nothing of the message's), VAPID per RFC
 * 8292, `TTL` and a `Topic` per chat, so that a newer push of the chat replaces an unread one.
 * The answer says what to do next: nothing, forget the subscription, or try again later.
 */
import { encryptNotification } from "@block65/webcrypto-web-push";
import { base64url, type VapidKey, vapidAuthorization } from "./vapid";

export interface StoredSubscription {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** `why` is safe to log: an HTTP status, a fixed description or an error's name. */
export type PushOutcome =
  | { kind: "sent" }
  /** 404 or 410: the subscription is gone. */
  | { kind: "gone"; why: string }
  /** 429, 5xx, a timeout or a network failure: again after `afterMs` at the earliest. */
  | { kind: "retry"; afterMs: number | null; why: string }
  /** Any other answer (`status`: the push service's, if it answered): trying again would not help. */
  | { kind: "refused"; why: string; status?: number };

export const MAX_PUSH_PLAINTEXT = 3_993;

/** The `Topic` of a chat's pushes: 32 characters of base64url from a hash of its id (RFC 8030 §5.4). */
export async function topicOf(chatId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(chatId));
  return base64url(new Uint8Array(digest)).slice(0, 32);
}

export async function sendPush(
  subscription: StoredSubscription,
  plaintext: string,
  options: { key: VapidKey; ttlSeconds: number; topic: string; timeoutMs: number },
): Promise<PushOutcome> {
  const bytes = new TextEncoder().encode(plaintext);
  if (bytes.byteLength > MAX_PUSH_PLAINTEXT) return { kind: "refused", why: "payload over 3,993 bytes" };
  let response: Response;
  try {
    const body = await encryptNotification(
      {
        endpoint: subscription.endpoint,
        expirationTime: null,
        keys: { p256dh: subscription.p256dh, auth: subscription.auth },
      },
      bytes,
      { pad: true },
    );
    response = await fetch(subscription.endpoint, {
      method: "POST",
      headers: {
        Authorization: await vapidAuthorization(options.key, subscription.endpoint),
        TTL: String(options.ttlSeconds),
        Topic: options.topic,
        Urgency: "high",
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
      },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    // The name only: a fetch error's message may quote the endpoint, whose path is a capability.
    return { kind: "retry", afterMs: null, why: err instanceof Error ? err.name : "network failure" };
  }
  // The body is not needed; cancelling it frees the connection.
  await response.body?.cancel().catch(() => {});
  if (response.ok) return { kind: "sent" };
  if (response.status === 404 || response.status === 410) return { kind: "gone", why: `HTTP ${response.status}` };
  if (response.status === 429 || response.status >= 500) {
    return {
      kind: "retry",
      afterMs: retryAfterMs(response.headers.get("Retry-After")),
      why: `HTTP ${response.status}`,
    };
  }
  return { kind: "refused", why: `HTTP ${response.status}`, status: response.status };
}

/** `Retry-After` in seconds or as an HTTP date, in ms from now; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
