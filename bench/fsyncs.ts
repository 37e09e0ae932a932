/**
 * Counting the server's `fsync` and `fdatasync` calls over a window, with `perf stat` on the
 * kernel's syscall tracepoints (no overhead per call, unlike `strace`). The bench's own commit
 * counter (worker/counters.ts) is an estimate from JavaScript; this is what reaches the disk.
 * Needs `perf` and access to tracepoints (root, or perf_event_paranoid ≤ -1); else it answers null.
 */
import { spawn } from "node:child_process";

const EVENTS = ["syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync"];

export interface FsyncCount {
  /** Stops counting; answers the calls counted, or null when `perf` could not count them. */
  stop(): Promise<number | null>;
}

/** Starts counting the sync calls of the processes `pids` (all their threads). */
export async function countFsyncs(pids: number[]): Promise<FsyncCount> {
  if (pids.length === 0) return { stop: async () => null };
  const child = spawn("perf", ["stat", "-x", ",", "-e", EVENTS.join(","), "-p", pids.join(",")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let out = "";
  child.stderr.on("data", (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", () => resolve(null));
    child.once("exit", (code) => resolve(code));
  });
  // perf attaches before it counts: give it a moment, so the window's first calls are seen.
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      await exited;
      let total = 0;
      let seen = 0;
      for (const line of out.split("\n")) {
        const [value, , event] = line.split(",");
        if (!event || !EVENTS.includes(event)) continue;
        const n = Number(value);
        if (!Number.isFinite(n)) return null;
        total += n;
        seen += 1;
      }
      return seen === EVENTS.length ? total : null;
    },
  };
}
