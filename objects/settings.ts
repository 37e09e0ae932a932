/**
 * Operator settings read from the environment (wrangler `[vars]`), each with a sane default.
 * A missing or malformed value falls back to the default rather than failing a request.
 */
import {
  DEFAULT_ATTACHMENT_TYPES,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  DEFAULT_MAX_GROUP_MEMBERS,
  MAX_GROUP_MEMBERS_CAP,
} from "../protocol";

export interface Settings {
  /** Most members a group may have. */
  maxGroupMembers: number;
  /** Sends per user per second, sustained, over all the user's sockets and HTTP together. */
  sendRatePerSecond: number;
  /** Sends a user may make at once before the rate applies (the token bucket's size). */
  sendBurst: number;
  /** Refused sends within 10 s after which a socket is closed as a flood (1008). */
  floodCloseAfter: number;
  /** Sockets one user may have open at once; a new device's upgrade over it gets 429. */
  maxSocketsPerUser: number;
  /** Exact origins that may open a WebSocket from a browser (`ALLOWED_ORIGINS`); null allows every origin. */
  allowedOrigins: ReadonlySet<string> | null;
  /** How long a user object may keep inbox updates of online members in memory before writing them. */
  inboxFlushMs: number;
  /** How long after sending it a sender may edit a message (`EDIT_WINDOW_S`). */
  editWindowMs: number;
  /** How long after sending it a sender may delete a message for everyone (`DELETE_WINDOW_S`). */
  deleteWindowMs: number;
  /** The largest file a member may upload (`MAX_ATTACHMENT_BYTES`). */
  maxAttachmentBytes: number;
  /** The media types a file may have (`ATTACHMENT_TYPES`, comma-separated). */
  attachmentTypes: ReadonlySet<string>;
  /** Plain-http push endpoints on 127.0.0.1 and localhost are allowed (`PUSH_ALLOW_HTTP`, local only). */
  pushAllowHttp: boolean;
  /** How long a push service should keep a push for an offline device (`PUSH_TTL_S`, at least an hour). */
  pushTtlSeconds: number;
}

export const DEFAULT_SEND_RATE_PER_SECOND = 20;
export const DEFAULT_SEND_BURST = 100;
export const DEFAULT_MAX_SOCKETS_PER_USER = 10;
export const DEFAULT_FLOOD_CLOSE_AFTER = 1_000;
export const DEFAULT_INBOX_FLUSH_MS = 30_000;
export const DEFAULT_EDIT_WINDOW_S = 900;
export const DEFAULT_PUSH_TTL_S = 86_400;
export const DEFAULT_DELETE_WINDOW_S = 172_800;

function positiveInt(value: unknown, fallback: number): number {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function settingsOf(env: object): Settings {
  const vars = env as Record<string, unknown>;
  return {
    maxGroupMembers: Math.min(positiveInt(vars.MAX_GROUP_MEMBERS, DEFAULT_MAX_GROUP_MEMBERS), MAX_GROUP_MEMBERS_CAP),
    sendRatePerSecond: positiveInt(vars.SEND_RATE_PER_SECOND, DEFAULT_SEND_RATE_PER_SECOND),
    sendBurst: positiveInt(vars.SEND_BURST, DEFAULT_SEND_BURST),
    maxSocketsPerUser: positiveInt(vars.MAX_SOCKETS_PER_USER, DEFAULT_MAX_SOCKETS_PER_USER),
    floodCloseAfter: positiveInt(vars.FLOOD_CLOSE_AFTER, DEFAULT_FLOOD_CLOSE_AFTER),
    allowedOrigins: originList(vars.ALLOWED_ORIGINS),
    inboxFlushMs: positiveInt(vars.INBOX_FLUSH_MS, DEFAULT_INBOX_FLUSH_MS),
    editWindowMs: positiveInt(vars.EDIT_WINDOW_S, DEFAULT_EDIT_WINDOW_S) * 1000,
    deleteWindowMs: positiveInt(vars.DELETE_WINDOW_S, DEFAULT_DELETE_WINDOW_S) * 1000,
    maxAttachmentBytes: positiveInt(vars.MAX_ATTACHMENT_BYTES, DEFAULT_MAX_ATTACHMENT_BYTES),
    pushAllowHttp: vars.PUSH_ALLOW_HTTP === "true",
    pushTtlSeconds: Math.max(3_600, positiveInt(vars.PUSH_TTL_S, DEFAULT_PUSH_TTL_S)),
    attachmentTypes: new Set(list(vars.ATTACHMENT_TYPES)?.map((t) => t.toLowerCase()) ?? DEFAULT_ATTACHMENT_TYPES),
  };
}

/** A comma-separated list; null when unset or blank. */
function list(value: unknown): string[] | null {
  if (typeof value !== "string") return null;
  const items = value
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  return items.length > 0 ? items : null;
}

/** `ALLOWED_ORIGINS`: comma-separated exact origins; unset or blank allows every origin. */
function originList(value: unknown): ReadonlySet<string> | null {
  const origins = list(value);
  return origins ? new Set(origins) : null;
}
