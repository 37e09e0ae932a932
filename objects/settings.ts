/**
 * Operator settings read from the environment (wrangler `[vars]`), each with a sane default.
 * A missing or malformed value falls back to the default rather than failing a request.
 */
import { DEFAULT_MAX_GROUP_MEMBERS } from "../protocol";

export interface Settings {
  /** Most members a group may have. */
  maxGroupMembers: number;
}

function positiveInt(value: unknown, fallback: number): number {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export function settingsOf(env: Partial<Record<string, unknown>>): Settings {
  return {
    maxGroupMembers: positiveInt(env.MAX_GROUP_MEMBERS, DEFAULT_MAX_GROUP_MEMBERS),
  };
}
