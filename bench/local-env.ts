/**
 * The project root, the dev.env variables the bench server runs with, and HS256 tokens signed
 * in the bench itself, so that connecting thousands of users does not also measure the dev token route.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findProjectRoot } from "../tools/project-root";

/** The project root, found upwards from this module (which may run bundled from node_modules/.cache). */
export const ROOT = findProjectRoot(import.meta.dirname);

/** The variables of dev.env (DEV_AUTH, JWT_SECRET), which the bench server runs with. */
export function devVars(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, "dev.env"), "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] && m[2] !== undefined) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

const b64 = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export function signToken(userId: string, secret: string, ttlSeconds = 6 * 3600): string {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64(JSON.stringify({ sub: userId, iat, exp: iat + ttlSeconds }));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
