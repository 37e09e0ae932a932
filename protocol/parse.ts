/** Turns a raw WebSocket frame into a validated client frame, or a clear reason why not. */
import type { z } from "zod";
import type { ErrorCode } from "./errors";
import { CLIENT_FRAME_TYPES, type ClientFrame, clientFrameSchema } from "./frames";
import { MAX_BODY_BYTES } from "./limits";

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id?: string };

export function parseClientFrame(raw: string | ArrayBuffer): ParsedFrame {
  if (typeof raw !== "string")
    return { ok: false, code: "bad_request", message: "binary frames are not supported; send JSON text" };
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, code: "bad_request", message: "frame is not valid JSON" };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, code: "bad_request", message: "frame must be a JSON object" };
  }
  const record = data as Record<string, unknown>;
  const id = typeof record.id === "string" && record.id.length <= 64 ? record.id : undefined;
  const type = record.type;
  if (typeof type !== "string" || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
    const shown = typeof type === "string" ? `'${type.slice(0, 32)}'` : "missing";
    return { ok: false, code: "bad_request", message: `unknown frame type: ${shown}`, id };
  }
  const result = clientFrameSchema.safeParse(data);
  if (result.success) return { ok: true, frame: result.data };
  return {
    ok: false,
    code: isBodyTooLarge(result.error) ? "too_large" : "bad_request",
    message: `${type}: ${describeIssues(result.error)}`,
    id,
  };
}

/** Whether validation failed because a message body is over MAX_BODY_BYTES (`too_large`, not `bad_request`). */
export function isBodyTooLarge(error: z.ZodError): boolean {
  return error.issues.some((i) => i.path[0] === "body" && i.message.includes(String(MAX_BODY_BYTES)));
}

/** A short, human-readable summary of zod issues: `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}
