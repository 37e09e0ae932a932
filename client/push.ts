/**
 * Web Push in browsers: subscribe a service worker's registration with the server's VAPID key
 * and hand the subscription to the server for this device, or undo both. Server refusals
 * reject with a `ProtocolError`; the browser's own (permission, no push service) as it threw them.
 */
import { ProtocolError } from "../protocol/errors";
import { type ChatApi, ChatApiError, type PushSubscriptionJson } from "./http";

/** Subscribes `registration` (reusing a subscription made with the same key) and tells the server. */
export async function enablePush(
  api: ChatApi,
  deviceId: string,
  registration: ServiceWorkerRegistration,
): Promise<PushSubscription> {
  const key = base64urlBytes(await refusalsAsProtocolErrors(api.pushKey()));
  const push = registration.pushManager;
  let subscription = await push.getSubscription();
  // A subscription made with another key (the server's key changed) cannot carry this server's pushes.
  if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await push.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await refusalsAsProtocolErrors(api.setPushSubscription(deviceId, subscriptionJson(subscription)));
  return subscription;
}

/** Unsubscribes in the browser and removes the device's subscription on the server. */
export async function disablePush(
  api: ChatApi,
  deviceId: string,
  registration: ServiceWorkerRegistration,
): Promise<void> {
  const subscription = await registration.pushManager.getSubscription();
  try {
    // The browser first: a dead endpoint is dropped by the server on its next push (410) even
    // if the DELETE below never arrives.
    await subscription?.unsubscribe();
  } finally {
    await refusalsAsProtocolErrors(api.removePushSubscription(deviceId));
  }
}

function subscriptionJson(subscription: PushSubscription): PushSubscriptionJson {
  const { endpoint, expirationTime, keys } = subscription.toJSON();
  const p256dh = keys?.p256dh;
  const auth = keys?.auth;
  if (!endpoint || !p256dh || !auth) throw new ProtocolError("bad_request", "the browser's subscription has no keys");
  return { endpoint, expirationTime: expirationTime ?? null, keys: { p256dh, auth } };
}

async function refusalsAsProtocolErrors<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ChatApiError && err.code !== "network") throw new ProtocolError(err.code, err.message);
    throw err;
  }
}

function base64urlBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}
