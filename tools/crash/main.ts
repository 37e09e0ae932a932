/**
 * `npm run test:crash [-- --messages 10000 --kills 20]`: runs the crash test against a real local
 * server, prints its figures, and exits non-zero unless every failure rule of the checker holds:
 * 0 lost, duplicated, gaps, unexpected, ack or resend mismatches (seq and ts), reordered, stale
 * `ready`, unacked and refused, and every recipient converged.
 */
import { parseArgs } from "node:util";
import { runCrashTest } from "./run";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    kills: { type: "string", default: "20" },
    window: { type: "string", default: "50" },
  },
});

const result = await runCrashTest({
  messages: Number(values.messages),
  kills: Number(values.kills),
  window: Number(values.window),
  log: (line) => console.log(`  ${line}`),
});
console.log(result.report);
process.exit(result.passed ? 0 : 1);
