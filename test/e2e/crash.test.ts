/**
 * The crash test, short: 400 messages into 4 chats while the runtime is SIGKILLed 3 times and
 * restarted on its state. It runs its own server (not the shared e2e one), since it kills it.
 * The full run is `npm run test:crash` (10,000 messages, 20 kills).
 */
import { expect, it } from "vitest";
import { failures } from "../../tools/crash/check";
import { runCrashTest } from "../../tools/crash/run";

it("400 messages, 3 SIGKILLs: 0 lost, duplicated, gaps, reordered, stale ready or mismatched acks; every recipient converged", async () => {
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
    staleReady: 0,
    unacked: 0,
    refused: 0,
  });
  expect(result.figures.converged).toBe(result.figures.recipients);
  expect(failures(result.figures)).toEqual({});
  expect(result.passed).toBe(true);
}, 300_000);
