/**
 * Structured log lines for the Worker and the objects: one JSON object per line, which Workers
 * Logs and `wrangler tail --format json` index field by field. Only the typed fields below can
 * be written, and none of them is meant for content: a message body, a token, a push key or
 * endpoint path, a file name or a chat title has no field here. Errors are logged by name and
 * stack frames only, since an error's message may quote input (zod quotes values, SQL errors
 * their parameters, fetch errors their URL).
 */

export type LogLevel = "info" | "warn" | "error";

export type LogEventName =
  /** One per HTTP request, when its response is ready. */
  | "request"
  | "socket_open"
  | "socket_close"
  | "socket_error"
  /** A request refused for its token; `reason` is the fixed description the client is told too. */
  | "auth_failed"
  /** A send refused by the user's rate limit. */
  | "rate_limited"
  /** A socket closed for refused sends past the flood threshold. */
  | "flood_closed"
  /** An upgrade refused because the user has as many sockets as allowed. */
  | "socket_limit"
  | "delivery_failed"
  | "push_failed"
  | "push_refused"
  /** The push service answered 404 or 410: the subscription is forgotten. */
  | "push_gone"
  | "unexpected_error"
  /** A setting that cannot work (a JWKS without keys, a bad VAPID key). */
  | "config_error";

/** Which code wrote the line. */
export type LogSource = "Worker" | "UserObject" | "ChatObject" | "RelayObject";

export interface LogFields {
  source?: LogSource;
  /** The id of the object that logs (`ctx.id.toString()`), when no chat or user id names it. */
  objectId?: string;
  /** The HTTP request (or WebSocket upgrade) the line belongs to. */
  requestId?: string;
  method?: string;
  /** The route pattern (`/v1/chats/:chatId/messages`), never the path with its ids. */
  route?: string | null;
  status?: number;
  durationMs?: number;
  userId?: string;
  deviceId?: string;
  chatId?: string;
  /** The other user a call was for (a delivery's recipient, a presence watcher). */
  peerId?: string;
  /** A client frame's type (`send`, `history`, ...). */
  frame?: string;
  /** A WebSocket close code. */
  closeCode?: number;
  /** A fixed description written in the code, never one that carries input. */
  reason?: string;
  /** What was being done when an error happened, a fixed description. */
  during?: string;
  /** A push service's origin: its path is the subscription's capability and is never logged. */
  pushOrigin?: string;
  retryInMs?: number;
  count?: number;
  /** A configured URL (the JWKS URL), not one a client sent. */
  configUrl?: string;
  /** The error's name (`TypeError`, `JwtTokenExpired`, ...). */
  error?: string;
  /** The error's stack frames, without the line that repeats its message. */
  stack?: string[];
  /** Durable Object errors say whether a retry may succeed. */
  retryable?: boolean;
  overloaded?: boolean;
}

const MAX_STACK_FRAMES = 8;

/** Writes one line: `{"level","event","ts",...fields}`, with the console method of its level. */
export function logEvent(level: LogLevel, event: LogEventName, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, event, ts: new Date().toISOString(), ...fields });
  // The console method sets the line's level in Workers Logs too.
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** What may be logged of an error: its name, its stack frames and the Durable Object flags. */
export function errorFields(err: unknown): Pick<LogFields, "error" | "stack" | "retryable" | "overloaded"> {
  if (!(err instanceof Error)) return { error: typeof err };
  const fields: Pick<LogFields, "error" | "stack" | "retryable" | "overloaded"> = { error: err.name };
  // The stack starts with "name: message", which may span lines; only what follows it is kept.
  const head = err.message ? `${err.name}: ${err.message}` : err.name;
  const stack = err.stack ?? "";
  if (stack.startsWith(head)) {
    const frames = stack
      .slice(head.length)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("at "))
      .slice(0, MAX_STACK_FRAMES);
    if (frames.length > 0) fields.stack = frames;
  }
  const flags = err as Error & { retryable?: unknown; overloaded?: unknown };
  if (typeof flags.retryable === "boolean") fields.retryable = flags.retryable;
  if (typeof flags.overloaded === "boolean") fields.overloaded = flags.overloaded;
  return fields;
}
