/**
 * The deployable environments of wrangler.toml, read as wrangler reads them (`unstable_readConfig`,
 * so inheritance is wrangler's own): staging and production each have every binding and variable
 * of the top level (wrangler inherits none of them), their own Worker name, observability on and
 * the same migrations; staging its own buckets; no level carries a development convenience; and
 * both build (`wrangler deploy --dry-run --env <name>`, as `npm run build` does).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { findProjectRoot } from "../../tools/project-root";

const ROOT = findProjectRoot(import.meta.dirname);
const ENVIRONMENTS = ["staging", "production"] as const;
const FORBIDDEN = ["DEV_AUTH", "JWT_SECRET", "PUSH_ALLOW_HTTP"];

/** The parts of wrangler's normalized configuration this test reads. */
interface Config {
  name: string;
  durable_objects: { bindings: { name: string; class_name: string }[] };
  r2_buckets: { binding: string; bucket_name?: string; jurisdiction?: string }[];
  ratelimits: { name: string; namespace_id: string; simple: { limit: number; period: number } }[];
  vars: Record<string, unknown>;
  migrations: unknown[];
  observability?: { enabled?: boolean; logs?: { invocation_logs?: boolean } };
  assets?: { binding?: string; run_worker_first?: unknown };
}

const read = (env?: string): Config =>
  unstable_readConfig({ config: join(ROOT, "wrangler.toml"), env }, { hideWarnings: true });

/** Every binding and variable name of a configuration, by kind. */
function bindingsOf(c: Config) {
  return {
    durableObjects: c.durable_objects.bindings.map((b) => `${b.name}=${b.class_name}`).sort(),
    buckets: c.r2_buckets.map((b) => `${b.binding}${b.jurisdiction ? `@${b.jurisdiction}` : ""}`).sort(),
    rateLimits: c.ratelimits.map((r) => r.name).sort(),
    vars: Object.keys(c.vars).sort(),
    assets: c.assets?.binding ?? null,
  };
}

const out = mkdtempSync(join(tmpdir(), "edge-chat-build-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("environments", () => {
  const top = read();

  it("each has every binding and variable of the top level, its own name, observability and the migrations", () => {
    expect(top.observability?.enabled).toBe(true);
    expect(bindingsOf(top).rateLimits).toEqual(["EDGE_AUTH_FAILURES", "EDGE_DEV_TOKENS", "EDGE_UPGRADES"]);
    const names = new Set([top.name]);
    for (const name of ENVIRONMENTS) {
      const c = read(name);
      expect(bindingsOf(c), name).toEqual(bindingsOf(top));
      // The whole block, invocation logs off included (they would log an upgrade's ?token=).
      expect(c.observability, name).toEqual(top.observability);
      expect(c.migrations, name).toEqual(top.migrations);
      expect(c.assets?.run_worker_first, name).toEqual(top.assets?.run_worker_first);
      expect(c.name, name).toBeTruthy();
      names.add(c.name);
      // Real limits, not the top level's lifted ones; their namespaces are the environment's own.
      for (const r of c.ratelimits) expect(r.simple.limit, `${name} ${r.name}`).toBeLessThan(10_000);
    }
    expect(names.size).toBe(1 + ENVIRONMENTS.length);
    const namespaces = [top, ...ENVIRONMENTS.map(read)].flatMap((c) => c.ratelimits.map((r) => r.namespace_id));
    expect(new Set(namespaces).size).toBe(namespaces.length);
  });

  it("staging keeps its files in its own buckets", () => {
    const bucketNames = (c: Config) => c.r2_buckets.map((b) => b.bucket_name);
    const production = new Set(bucketNames(read("production")));
    for (const bucket of bucketNames(read("staging"))) expect(production.has(bucket), bucket).toBe(false);
  });

  it("no level carries DEV_AUTH, JWT_SECRET or PUSH_ALLOW_HTTP", () => {
    for (const c of [top, ...ENVIRONMENTS.map(read)]) {
      for (const name of FORBIDDEN) expect(Object.keys(c.vars), `${c.name} ${name}`).not.toContain(name);
    }
  });

  it("both environments build", async () => {
    await Promise.all(
      ENVIRONMENTS.map((name) =>
        promisify(execFile)(
          join(ROOT, "node_modules/.bin/wrangler"),
          ["deploy", "--dry-run", "--env", name, "--outdir", join(out, name)],
          { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" } },
        ),
      ),
    );
    for (const name of ENVIRONMENTS) expect(readdirSync(join(out, name)), name).toContain("index.js");
  }, 120_000);
});
