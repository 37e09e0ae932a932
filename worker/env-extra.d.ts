/** Variables that `wrangler types` cannot see: optional settings and the test-only switch. */
interface Env {
  /** Test-only: "true" lets tests make fan-out calls fail (set in vitest.config.ts, never deployed). */
  FAULT_INJECTION?: string;
  /** Most members a group may have (default 1024). */
  MAX_GROUP_MEMBERS?: string;
}
