/**
 * The per-user send limit: a token bucket held in the user's object, so every device and the
 * HTTP send route of one user draw from the same bucket. Its state is written at most once a
 * second while it changes (`BucketStore`), so a restarted object starts where the bucket was,
 * give or take the last second, instead of with a full burst.
 */
import type { Settings } from "../settings";

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** How many tokens a full bucket holds. */
  get size(): number {
    return this.burst;
  }

  /** The bucket as it stands, to store it. */
  state(): { tokens: number; last: number } {
    return { tokens: this.tokens, last: this.last };
  }

  /** Continues from a stored state (an earlier run of the object). */
  restore(state: { tokens: number; last: number }): void {
    this.tokens = Math.min(this.burst, Math.max(0, state.tokens));
    this.last = state.last;
  }

  /** Takes one token if there is one; false means the send must be refused. */
  take(): boolean {
    const now = this.now();
    // A clock that goes back (or is frozen, as in workerd between I/O) never adds tokens.
    const elapsed = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export function sendLimiter(settings: Pick<Settings, "sendRatePerSecond" | "sendBurst">): TokenBucket {
  return new TokenBucket(settings.sendRatePerSecond, settings.sendBurst);
}

const FLOOD_WINDOW_MS = 10_000;

/** Counts each socket's refused sends over a 10 s window, to tell a flood from a burst. */
export class FloodMeter {
  private readonly windows = new WeakMap<WebSocket, { start: number; refused: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records one refused send; answers how many this socket had refused in the current window. */
  refuse(ws: WebSocket): number {
    const now = this.now();
    const w = this.windows.get(ws);
    if (!w || now - w.start >= FLOOD_WINDOW_MS) {
      this.windows.set(ws, { start: now, refused: 1 });
      return 1;
    }
    w.refused += 1;
    return w.refused;
  }
}
