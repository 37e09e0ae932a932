/**
 * The disk's own `fsync` latency, probed beside a figure: a 4 KiB write and an `fsync` of a file
 * in the directory that holds the bench servers' state, every few milliseconds. Every commit of
 * an object's SQLite waits for one such `fsync`, on the thread all objects share locally, so a
 * latency tail on a path with commits is never shorter than the disk's: this row tells the two
 * apart. The `fsync` runs on libuv's thread pool, not on the bench's event loop.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LatencySummary, summarize } from "./stats";

const BLOCK = Buffer.alloc(4096, 0x78);
/** Blocks the probe cycles over, as a small database's pages would be. */
const BLOCKS = 64;

/** `fsync` latencies (ms) in the state directory's file system, one every `everyMs` for `durationMs`. */
export async function probeFsyncs(durationMs: number, everyMs = 5): Promise<LatencySummary> {
  const dir = await mkdtemp(join(tmpdir(), "edge-chat-bench-fsync-"));
  const file = await open(join(dir, "probe"), "w");
  const latencies: number[] = [];
  try {
    const end = Date.now() + durationMs;
    for (let i = 0; Date.now() < end; i++) {
      await file.write(BLOCK, 0, BLOCK.length, (i % BLOCKS) * BLOCK.length);
      const start = process.hrtime.bigint();
      await file.sync();
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } finally {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  }
  return summarize(latencies);
}
