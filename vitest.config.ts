import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin } from "vitest/config";

/** Drizzle's durable-sqlite migrations import `.sql` files as text, as wrangler's Text rule does. */
const sqlAsText: Plugin = {
  name: "sql-as-text",
  load(id) {
    if (id.endsWith(".sql")) return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
};

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          sqlAsText,
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DEV_AUTH: "true",
                JWT_SECRET: "test-secret",
                FAULT_INJECTION: "true",
                // Room for tests that pipeline hundreds of sends from one user; test/limits.test.ts floods past it.
                SEND_BURST: "1000",
                SEND_RATE_PER_SECOND: "5",
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**"], testTimeout: 30_000 },
      },
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
