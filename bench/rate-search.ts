/**
 * Finding the highest sustained rate: a closed-loop probe estimates capacity, then open-loop
 * steps at fractions of it; a step passes when almost everything offered completes and the
 * p99 latency stays under the objective (a failed step is tried once more). Bounded: at most
 * `maxSteps` steps.
 */

export interface Step {
  offered: number;
  /** Completed per second over the step. */
  achieved: number;
  p50: number;
  p99: number;
  /** Latency samples (a send that never completed counts as one), and their max. */
  samples: number;
  max: number;
  ok: boolean;
}

export interface Search {
  best: Step | null;
  probe: number;
  steps: Step[];
}

const FRACTIONS = [0.4, 0.6, 0.75, 0.9, 1.05, 1.2];

export async function findMaxRate(
  probe: () => Promise<number>,
  step: (rate: number) => Promise<Step>,
  log: (m: string) => void,
  /** The lowest rate worth a step (a few sends per step at least). */
  minRate = 1,
  maxSteps = 12,
): Promise<Search> {
  const capacity = await probe();
  log(`    probe: ${Math.round(capacity)}/s closed loop`);
  const steps: Step[] = [];
  const run = async (rate: number) => {
    if (steps.length >= maxSteps)
      return { offered: rate, achieved: 0, p50: Number.NaN, p99: Number.NaN, samples: 0, max: Number.NaN, ok: false };
    let s = await step(Math.max(minRate, Math.round(rate)));
    if (!s.ok && steps.length + 1 < maxSteps) {
      // A shared machine has hiccups: a failed step gets one more try, for figures and baselines alike.
      steps.push(s);
      log(`    retry: offered ${s.offered}/s p99 ${s.p99.toFixed(1)} ms`);
      s = await step(s.offered);
    }
    steps.push(s);
    log(
      `    ${s.ok ? "pass" : "fail"} offered ${s.offered}/s achieved ${Math.round(s.achieved)}/s p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms`,
    );
    return s;
  };
  let best: Step | null = null;
  let failedAt: number | null = null;
  for (const f of FRACTIONS) {
    const s = await run(capacity * f);
    if (!s.ok) {
      failedAt = s.offered;
      break;
    }
    best = s;
  }
  if (!best) {
    // Even 40% of the closed-loop rate misses the objective: walk down.
    for (const f of [0.2, 0.1, 0.05]) {
      if (steps.at(-1)?.offered === minRate) break;
      const s = await run(capacity * f);
      if (s.ok) {
        best = s;
        break;
      }
      failedAt = s.offered;
    }
  }
  if (best && failedAt !== null) {
    const mid = Math.sqrt(best.offered * failedAt);
    if (mid - best.offered >= best.offered * 0.04) {
      const s = await run(mid);
      if (s.ok) best = s;
    }
  }
  return { best, probe: capacity, steps };
}

/** Whether a step kept up: at least 97% completed and p99 within the objective. */
export function passes(offeredCount: number, completed: number, p99: number, sloMs: number): boolean {
  return offeredCount > 0 && completed >= offeredCount * 0.97 && p99 < sloMs;
}
