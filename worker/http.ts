/** The Worker's hono types and JSON error answers, shared by its routes. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { Outcome } from "../objects/outcome";
import { describeIssues, type ErrorBody, type ErrorCode, httpStatusOf, isBodyTooLarge } from "../protocol";

export type AppEnv = { Bindings: Env; Variables: { userId: string; iat?: number } };
export type AppContext = Context<AppEnv>;

export function errorResponse(c: Context, code: ErrorCode, message: string): Response {
  const body: ErrorBody = { error: { code, message } };
  return c.json(body, httpStatusOf(code) as ContentfulStatusCode);
}

/** Answers an object's outcome: its value as JSON, or its refusal as an error body. */
export function outcomeResponse<T>(c: Context, outcome: Outcome<T>, status: ContentfulStatusCode = 200): Response {
  if (!outcome.ok) return errorResponse(c, outcome.code, outcome.message);
  return c.json(outcome.value as object, status);
}

/** Reads and validates a JSON body; answers null after writing nothing when it is bad. */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<{ ok: true; data: z.output<S> } | { ok: false; response: Response }> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return { ok: false, response: errorResponse(c, "bad_request", "body must be JSON") };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const code = isBodyTooLarge(parsed.error) ? "too_large" : "bad_request";
    return { ok: false, response: errorResponse(c, code, describeIssues(parsed.error)) };
  }
  return { ok: true, data: parsed.data };
}
