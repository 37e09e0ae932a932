import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin, type TestProjectInlineConfiguration } from "vitest/config";

/** Drizzle's durable-sqlite migrations import `.sql` files as text, as wrangler's Text rule does. */
const sqlAsText: Plugin = {
  name: "sql-as-text",
  load(id) {
    if (id.endsWith(".sql")) return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
};

/** Edge rate limits (worker/edge-limits.ts) replacing wrangler.toml's lifted ones. */
type RateLimits = Record<string, { namespace_id: string; simple: { limit: number; period: 10 | 60 } }>;

/** A project of tests inside workerd: the Worker of wrangler.toml, with test bindings and `vars`. */
function workersProject(
  name: string,
  files: { include: string[]; exclude: string[] },
  vars: Record<string, string>,
  ratelimits?: RateLimits,
): TestProjectInlineConfiguration {
  return {
    plugins: [
      sqlAsText,
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            DEV_AUTH: "true",
            JWT_SECRET: "test-secret",
            // The local key pair of dev.env, and local http push services, as in development.
            VAPID_PRIVATE_KEY: "oJiaOGOmPjLeYHZkiyZHh6dFIDAFK04bQsAJ5WD21O4",
            VAPID_SUBJECT: "mailto:dev@localhost",
            PUSH_ALLOW_HTTP: "true",
            ...vars,
          },
          ...(ratelimits ? { ratelimits } : {}),
        },
      }),
    ],
    test: { name, ...files, testTimeout: 30_000 },
  };
}

/**
 * Tests with limits lifted: every probe must reach the membership check, so no send limit may
 * refuse one first; and a group may have as many members as a deployment may allow.
 */
const UNLIMITED = ["test/security.test.ts", "test/group-10k.test.ts"];

/**
 * Tests of operations: edge limits low enough to reach (keys per test: each uses its own
 * `cf-connecting-ip`) with the shortest period a binding allows, and a VAPID key rotation under
 * way (the key before is dev.env's, the key now is another).
 */
const OPERATIONS = ["test/edge-limits.test.ts", "test/vapid-rotation.test.ts"];
const OPERATIONS_LIMITS: RateLimits = {
  EDGE_UPGRADES: { namespace_id: "9101", simple: { limit: 3, period: 10 } },
  EDGE_AUTH_FAILURES: { namespace_id: "9102", simple: { limit: 3, period: 10 } },
  EDGE_DEV_TOKENS: { namespace_id: "9103", simple: { limit: 3, period: 10 } },
};

export default defineConfig({
  test: {
    // The service's info lines (one per request, socket and refusal) would bury the report; tests
    // that check them spy on the console, and warnings and errors still print.
    onConsoleLog: (log) => !log.startsWith('{"level":"info"'),
    projects: [
      workersProject(
        "workers",
        { include: ["test/**/*.test.ts"], exclude: ["test/e2e/**", ...UNLIMITED, ...OPERATIONS] },
        // Room for tests that pipeline hundreds of sends from one user; test/limits.test.ts floods past it.
        // Inbox writes deferred for a second, not 30: an object with a pending write cannot be evicted.
        { SEND_BURST: "1000", SEND_RATE_PER_SECOND: "5", INBOX_FLUSH_MS: "1000" },
      ),
      workersProject(
        "workers-unlimited",
        { include: UNLIMITED, exclude: [] },
        {
          SEND_BURST: "1000000",
          SEND_RATE_PER_SECOND: "1000000",
          INBOX_FLUSH_MS: "1000",
          MAX_GROUP_MEMBERS: "10000",
        },
      ),
      workersProject(
        "workers-operations",
        { include: OPERATIONS, exclude: [] },
        {
          EDGE_LIMIT_PERIOD_S: "10",
          VAPID_PRIVATE_KEY: "z1BCSoeLMFtr0WQAh-6NPQYx-ZdNfUUnCWsXJsBA2L4",
          VAPID_PRIVATE_KEY_PREVIOUS: "oJiaOGOmPjLeYHZkiyZHh6dFIDAFK04bQsAJ5WD21O4",
        },
        OPERATIONS_LIMITS,
      ),
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
