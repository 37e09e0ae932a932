/**
 * The crash test, short: 400 entries (texts, and edits, deletes and reactions of them) into 4
 * chats while the runtime is SIGKILLed 3 times and restarted on its state. It runs its own server
 * (not the shared e2e one), since it kills it.
 * The full run is `npm run test:crash` (10,000 messages, 20 kills).
 */
import { expect, it } from "vitest";
import { failures } from "../../tools/crash/check";
import { runCrashTest } from "../../tools/crash/run";

it("400 entries, 3 SIGKILLs: 0 lost, duplicated, gaps, reordered, misapplied, stale ready or mismatched acks; every recipient converged", async () => {
  const result = await runCrashTest({ messages: 400, kills: 3, timeoutMs: 240_000, log: (line) => console.log(line) });
  console.log(result.report);
  expect(result.figures).toMatchObject({
    messages: 400,
    kills: 3,
    acked: 400,
    stored: 400,
    lost: 0,
    duplicated: 0,
    gaps: 0,
    unexpected: 0,
    ackMismatches: 0,
    resendMismatches: 0,
    reordered: 0,
    misapplied: 0,
    pagingMismatches: 0,
    staleReady: 0,
    unacked: 0,
    refused: 0,
  });
  expect(result.figures.converged).toBe(result.figures.recipients);
  // The stream carried every kind of change, so the checks above covered them.
  expect(result.figures.edits).toBeGreaterThan(0);
  expect(result.figures.deletes).toBeGreaterThan(0);
  expect(result.figures.reactions).toBeGreaterThan(0);
  expect(failures(result.figures)).toEqual({});
  expect(result.passed).toBe(true);
}, 300_000);
