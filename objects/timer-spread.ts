/**
 * Spreads the delays of periodic writes that many objects start at the same moment (an inbox
 * flush, a chat's check alarm). Objects woken together by one burst of traffic would otherwise
 * all commit in the same few milliseconds, one `fsync` each on the one thread they share
 * locally, and every message in flight meanwhile waits for all of them: measured as the slowest
 * 1% of deliveries (bench/README.md, issue 17).
 */

/** A delay between `fraction` × `ms` and `ms`, never longer than asked: a bound callers rely on stays a bound. */
export function spread(ms: number, fraction = 0.5): number {
  return Math.round(ms * (fraction + (1 - fraction) * Math.random()));
}
