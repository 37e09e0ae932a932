/** The bench report's rule for percentiles: none from too few samples, and no pass colour for a row that has them. */
import { describe, expect, it } from "vitest";
import { type FigureResult, percentileRow, reportable } from "../../bench/context";
import { COLOURS, svgChart, table, targetOf, verdict } from "../../bench/report";
import { summarize } from "../../bench/stats";

/** The fill of the bar drawn for the row named `name`, or null when it has no bar. */
function fillOf(svg: string, name: string): string | null {
  const lines = svg.split("\n");
  const at = lines.findIndex((l) => l.includes(`>${name}</text>`));
  expect(at).toBeGreaterThanOrEqual(0);
  const next = lines[at + 1] ?? "";
  return next.startsWith("<rect") ? (/fill="([^"]+)"/.exec(next)?.[1] ?? null) : null;
}

const PASS = "#4a90d9";
const NAME = "4. fan-out to 500 members, last receives, p99";

describe("bench report", () => {
  it("reports pQ of n samples only when ten of them lie above it", () => {
    expect(reportable(99, 20)).toBe(false);
    expect(reportable(99, 999)).toBe(false);
    expect(reportable(99, 1_000)).toBe(true);
    expect(reportable(50, 19)).toBe(false);
    expect(reportable(50, 20)).toBe(true);
  });

  it("gives the max of 20 samples, not a p99, and no ratio or pass colour from it", () => {
    // Figure 4 as it was: 20 sends each side, one outlier in the baseline's.
    const fanout = summarize(Array.from({ length: 20 }, (_, i) => 600 + i * 6));
    const direct = summarize([...Array.from({ length: 19 }, (_, i) => 4 + i / 10), 1_530]);
    const at = (s: typeof fanout) => ({ value: s.p99, samples: 20, max: s.max });
    const r = percentileRow(NAME, "ms", 99, at(fanout), { name: "one direct delivery p99", got: at(direct) }, {});
    expect(r.ratio).toBeNull();
    expect(r.stat).toEqual({ q: 99, samples: 20, max: 714 });
    expect(r.baseline?.value).toBe(1_530);
    const text = table([r]);
    expect(text).toContain("max of 20: 714 ms");
    expect(text).toContain("max of 20: 1,530 ms");
    expect(text).not.toContain("0.467×");
    expect(fillOf(svgChart([r]), NAME)).not.toBe(PASS);
    expect(COLOURS.met).toBe(PASS);
  });

  it("does not colour a percentile row whose samples were not recorded as a pass", () => {
    // The row as the committed results file holds it: a p99 ratio of 0.472 from 20 sends each.
    const legacy: FigureResult = {
      name: NAME,
      value: 721.9,
      unit: "ms",
      baseline: { name: "one direct delivery p99", value: 1_530, unit: "ms" },
      ratio: 721.9 / 1_530,
      conditions: { sends: 20, members: 500, online: 500 },
    };
    expect(fillOf(svgChart([legacy]), NAME)).not.toBe(PASS);
  });

  it("judges 4a and 4c by ratio ≤ 1.5, 4b's counts by value, 6 by ratio ≤ 1.2, and leaves 1b, 1c and 4b's latency without a target", () => {
    const base = { unit: "ms", baseline: null, ratio: null, conditions: {} };
    const at = (name: string, value: number, more: Partial<FigureResult> = {}): FigureResult => ({
      ...base,
      name,
      value,
      ...more,
    });
    expect(targetOf(at("4a. fan-out to 1024 members / floor, last receives, p50", 1))?.text).toBe("ratio ≤ 1.5");
    expect(targetOf(at("4c. fan-out to 100 online of 10,000 members, last receives, p50", 1))?.text).toBe(
      "ratio ≤ 1.5",
    );
    const calls = (value: number) =>
      at("4b. cost per message: calls between objects, burst", value, {
        unit: "calls/msg",
        conditions: { online: 16 },
      });
    expect(verdict(calls(20))).toBe("met");
    expect(verdict(calls(1_024))).toBe("missed");
    const commits = (value: number) => at("4b. cost: SQLite commits, burst", value, { unit: "commits/msg" });
    expect(verdict(commits(4))).toBe("met");
    expect(verdict(commits(4.5))).toBe("missed");
    expect(targetOf(at("4b. cost: last online receives, single sends, p50", 5))).toBeNull();
    expect(targetOf(at("1b. one chat: with vs without `received` frames", 5))).toBeNull();
    expect(targetOf(at("1c. one chat: disk vs state on tmpfs", 5))).toBeNull();
    // Figure 6 against the bare echo object per socket (issue 17), not a fixed size.
    const memory = (ratio: number) => at("6. memory per idle connection (5000 hibernated)", 80 * ratio, { ratio });
    expect(targetOf(memory(1))?.text).toBe("ratio ≤ 1.2");
    expect(verdict(memory(1.2))).toBe("met");
    expect(verdict(memory(1.25))).toBe("missed");
  });

  it("judges 4d's reaction burst by ratio ≤ 1.2 to the message burst, and its counts per entry by ratio ≤ 1", () => {
    const burst = (ratio: number) =>
      percentileRow(
        "4d. reactions / texts, burst of 10 in a group of 1,024, all online, last holds all, p50",
        "ms",
        50,
        { value: 1_000 * ratio, samples: 20, max: 2_000 },
        { name: "10 texts, the same way, p50", got: { value: 1_000, samples: 20, max: 2_000 } },
        {},
      );
    expect(targetOf(burst(1))?.text).toBe("ratio ≤ 1.2");
    expect(verdict(burst(1.2))).toBe("met");
    expect(verdict(burst(1.25))).toBe("missed");
    const perEntry = (unit: string, reaction: number, text: number): FigureResult => ({
      name: `4d. reactions / texts, burst of 10 in a group of 1,024, all online: ${unit} per entry`,
      value: reaction,
      unit,
      baseline: { name: `10 texts: ${unit} per entry`, value: text, unit },
      ratio: reaction / text,
      conditions: {},
    });
    expect(verdict(perEntry("calls/entry", 300, 300))).toBe("met");
    expect(verdict(perEntry("calls/entry", 301, 300))).toBe("missed");
    expect(verdict(perEntry("commits/entry", 103, 102))).toBe("missed");
  });

  it("judges figure 7's MB/s by ratio ≥ 0.5 to the bare R2 put or get, and leaves its memory and figure 8 to report", () => {
    const rate = (value: number, base: number, unit = "MB/s"): FigureResult => ({
      name: "7. attachments: upload of 100 MiB",
      value,
      unit,
      baseline: { name: "bare Worker: R2 put of the same bytes", value: base, unit },
      ratio: value / base,
      conditions: {},
    });
    expect(targetOf(rate(1, 1))?.text).toBe("ratio ≥ 0.5");
    expect(verdict(rate(50, 100))).toBe("met");
    expect(verdict(rate(49, 100))).toBe("missed");
    const memory = { ...rate(150, 120, "MiB"), name: "7. attachments: workerd RSS peak during the 100 MiB upload" };
    expect(targetOf(memory)).toBeNull();
    const push = percentileRow(
      "8. push: send → push received, offline recipient, p50",
      "ms",
      50,
      { value: 1_600, samples: 20, max: 2_000 },
      {
        name: "bare Worker: one fetch to the same push service, round trip, p50",
        got: { value: 2, samples: 20, max: 5 },
      },
      {},
    );
    expect(push.ratio).toBe(800);
    expect(targetOf(push)).toBeNull();
    expect(
      targetOf({ ...rate(300, 500, "pushes/s"), name: "8. push: pushes/s to 1,000 offline subscribed members" }),
    ).toBeNull();
  });
});
