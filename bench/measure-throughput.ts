/**
 * Figures 1-3, in the order they run: one chat (1; its cost in fsyncs, 1d; on tmpfs, 1c; without
 * receipts, 1b), many chats (2; direct chats' cost in fsyncs, 2d) and the latency at half that
 * load (3, beside the echo at the same rate and, for direct chats, the disk's own fsync latency).
 */
import type { WorkerBuild } from "./bundle";
import {
  type Bench,
  baselineOf,
  type FigureResult,
  figure,
  latencyOf,
  notAvailable,
  percentileRow,
  row,
  type Sampled,
} from "./context";
import { probeFsyncs } from "./disk-probe";
import { breakdown } from "./figures/cost";
import { echoAtRate } from "./figures/echo";
import {
  aggregate,
  COUNTED_IN_FLIGHT,
  costInDirectChats,
  costInOneChat,
  DIRECT_COST_RATE_PER_CHAT,
  directTopology,
  groupTopology,
  type SendCost,
  sendsIntoOneChat,
  type Topology,
} from "./figures/throughput";
import type { Search, Step } from "./rate-search";
import { startWorkerd } from "./servers";

/** How often the disk probe beside figure 3 syncs (about as often as the figure's server commits). */
const FSYNC_PROBE_EVERY_MS = 5;
/** DO state on a tmpfs: the same path without the disk, to isolate what persistence costs. */
const TMPFS = "/dev/shm";

/** Figures 1-3; `echoes`: the DO echo over one socket (figure 1's baseline) and over many (figure 2's). */
export async function measureThroughput(
  bench: Bench,
  build: WorkerBuild,
  echoes: { one: FigureResult | null; many: FigureResult | null },
): Promise<void> {
  const p = bench.params;
  const R = bench.results;
  const slo = `p99 < ${p.sloMs} ms`;
  const [base, latency] = [baselineOf, latencyOf];
  const [doEcho1, doEchoN] = [echoes.one, echoes.many];

  let fig1: FigureResult | null = null;
  await figure(bench, "1. sends into one chat (send → ack)", "msgs/s", async () => {
    const s = await sendsIntoOneChat(bench);
    fig1 = row("1. sends into one chat (send → ack)", s.best?.achieved ?? 0, "msgs/s", base(doEcho1), {
      slo,
      ...latency(s.best),
      probe: s.probe,
      chat: "direct, 1 sender socket, recipient online",
    });
    R.push(fig1);
  });
  /** A row of `fsync` calls per message (1d, 2d), with the commits and calls the bench build counted. */
  const fsyncRow = (name: string, { cost, rate, fsyncs }: SendCost, load: Record<string, number>) => {
    bench.log(
      `    ${fsyncs === null ? "fsyncs not counted (no perf)" : `${fsyncs.toFixed(2)} fsyncs`}, ${cost.commits.toFixed(2)} commits counted per message (${cost.messages} messages): ${breakdown(cost)}`,
    );
    const cond = {
      messages: cost.messages,
      ...load,
      rate: Math.round(rate),
      commitsPerMsg: cost.commits,
      callsPerMsg: cost.calls,
      writesPerMsg: cost.writes,
      windowMs: cost.windowMs,
      by: {
        ...cost.callsBy,
        ...Object.fromEntries(Object.entries(cost.commitsBy).map(([k, v]) => [`${k} commits`, v])),
      },
      note: "perf stat of the server's fsync + fdatasync over the sends and settleMs after them",
    };
    if (fsyncs === null) R.push({ ...notAvailable(name, "fsyncs/msg", "perf could not count"), conditions: cond });
    else R.push(row(name, fsyncs, "fsyncs/msg", null, cond));
  };
  const oneChatCost = `1d. fsync calls per message in one chat, ${COUNTED_IN_FLIGHT} sends in flight`;
  await figure(bench, oneChatCost, "fsyncs/msg", async () => {
    fsyncRow(oneChatCost, await costInOneChat(bench), { inFlight: COUNTED_IN_FLIGHT });
  });
  /** Figure 1's rate against the same figure run otherwise (`other`): what the difference costs. */
  const againstFigure1 = (name: string, otherName: string, other: Search, cond: Record<string, unknown>) =>
    row(
      name,
      (fig1 as FigureResult | null)?.value ?? 0,
      "msgs/s",
      { name: otherName, value: other.best?.achieved ?? 0, unit: "msgs/s" },
      { slo, ...cond },
    );
  if (p.isolateCosts) {
    await figure(bench, "1c. one chat, state on disk vs tmpfs", "msgs/s", async () => {
      const tmpfs = await startWorkerd(build, { stateBase: TMPFS });
      try {
        const s = await sendsIntoOneChat({ ...bench, server: tmpfs });
        R.push(
          againstFigure1("1c. one chat: disk vs state on tmpfs", "1. with Durable Object state on tmpfs (no disk)", s, {
            tmpfs: latency(s.best),
            note: "ratio < 1: what the disk costs",
          }),
        );
      } finally {
        await tmpfs.stop();
      }
    });

    await figure(bench, "1b. one chat, without delivery receipts", "msgs/s", async () => {
      await Promise.all(bench.agents.map((a) => a.call({ cmd: "config", ackReceived: false })));
      try {
        const s = await sendsIntoOneChat(bench);
        R.push(
          againstFigure1(
            "1b. one chat: with vs without `received` frames",
            "1. with recipients that never send `received`",
            s,
            {
              without: latency(s.best),
              note: "ratio < 1: what receipts cost",
            },
          ),
        );
      } finally {
        await Promise.all(bench.agents.map((a) => a.call({ cmd: "config", ackReceived: true })));
      }
    });
  }

  /**
   * Figures 2 and 3 for one kind of chat: the highest delivered rate, then sender → recipient
   * latency at half of it, next to the echo's round trip at the same rate.
   */
  const deliveredAndLatency = (kind: "direct" | "groups", label: string, open: () => Promise<Topology>) =>
    figure(bench, `2. delivered msgs/s, ${label}`, "msgs/s", async () => {
      const a = await aggregate(bench, open);
      R.push(
        row(`2. delivered msgs/s, ${label}`, a.search.best?.achieved ?? 0, "msgs/s", base(doEchoN), {
          slo,
          ...latency(a.search.best),
          sendRate: a.search.best?.offered,
          sockets: a.sockets,
        }),
      );
      if (!a.half) return;
      // Direct: one delivered frame per send, so the echo runs at the send rate; groups: at the delivered rate.
      const echoRate = kind === "direct" ? a.half.offered : Math.round(a.half.achieved);
      const prefix = kind === "direct" ? "echo3" : "echo3g";
      // Beside the echo (whose frames touch no disk), the disk's own fsync tail in the same minute.
      const [echo, disk] = await Promise.all([
        echoAtRate(bench, { server: bench.server, sockets: p.chats, prefix }, echoRate, a.halfMs),
        kind === "direct" ? probeFsyncs(a.halfMs, FSYNC_PROBE_EVERY_MS) : null,
      ]);
      if (disk) {
        bench.log(
          `    disk fsync beside it: p50 ${disk.p50.toFixed(2)} ms p99 ${disk.p99.toFixed(2)} ms max ${disk.max.toFixed(1)} ms (${disk.count})`,
        );
        const got = (value: number): Sampled => ({ value, samples: disk.count, max: disk.max });
        R.push(
          percentileRow(
            "baseline: disk fsync p99 beside 3 (direct)",
            "ms",
            99,
            got(disk.p99),
            { name: "its p50", got: got(disk.p50) },
            {
              everyMs: FSYNC_PROBE_EVERY_MS,
              durationMs: a.halfMs,
              note: "4 KiB write + fsync, during the echo's step",
            },
          ),
        );
      }
      const same = kind === "direct" ? "same rate" : "same frames/s";
      const cond =
        kind === "direct"
          ? { rate: a.half.offered, chats: p.chats, echoRate: echo.offered }
          : { sendRate: a.half.offered, deliveredRate: Math.round(a.half.achieved), echoRate: echo.offered };
      for (const q of [50, 99] as const) {
        const at = (s: Step): Sampled => ({ value: q === 50 ? s.p50 : s.p99, samples: s.samples, max: s.max });
        R.push(
          percentileRow(
            `3. sender → recipient p${q} at half of 2 (${kind})`,
            "ms",
            q,
            at(a.half),
            { name: `DO echo round trip p${q}, ${same}`, got: at(echo) },
            cond,
          ),
        );
      }
      // The tail against the figure's own median: the issue's p99/p50 ≤ 4.
      const own = (s: Step, q: 50 | 99): Sampled => ({
        value: q === 50 ? s.p50 : s.p99,
        samples: s.samples,
        max: s.max,
      });
      R.push(
        percentileRow(
          `3. sender → recipient p99 / p50 at half of 2 (${kind})`,
          "ms",
          99,
          own(a.half, 99),
          { name: "its p50", got: own(a.half, 50) },
          cond,
        ),
      );
    });

  await deliveredAndLatency("direct", `${p.chats} direct chats`, () => directTopology(bench, p.chats, "f2d"));
  const directCost = `2d. fsync calls per message in ${p.chats} direct chats, ${DIRECT_COST_RATE_PER_CHAT} msg/s each`;
  await figure(bench, directCost, "fsyncs/msg", async () => {
    fsyncRow(directCost, await costInDirectChats(bench, p.chats), { chats: p.chats });
  });
  const groupsLabel = `${p.groups} groups × ${p.groupSize}`;
  if (!bench.groups.available) {
    R.push(notAvailable(`2. delivered msgs/s, ${groupsLabel}`, "msgs/s", bench.groups.reason));
  } else {
    await deliveredAndLatency("groups", groupsLabel, () => groupTopology(bench, p.groups, p.groupSize, "f2g"));
  }
}
