/**
 * The benchmark's smoke run (tiny sizes, its own workerd server): every figure and baseline
 * produces a well-formed row, the bench build's counters count calls and commits (figure 4b),
 * attachments are streamed up and down and the Web Push figure receives its pushes (figures 7
 * and 8), and the report files are written. No timing is asserted: speed
 * is only measured by `npm run bench`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { FigureResult } from "../../bench/context";
import { runBench } from "../../bench/harness";
import { writeReport } from "../../bench/report";

function wellFormed(r: FigureResult): void {
  expect(typeof r.name).toBe("string");
  expect(typeof r.unit).toBe("string");
  expect(r.value === null || Number.isFinite(r.value)).toBe(true);
  expect(r.conditions).toBeTypeOf("object");
  if (r.baseline !== null) {
    expect(typeof r.baseline.name).toBe("string");
    expect(Number.isFinite(r.baseline.value)).toBe(true);
  }
  if (r.ratio !== null) {
    expect(r.baseline).not.toBeNull();
    expect(r.ratio).toBeCloseTo((r.value ?? Number.NaN) / (r.baseline?.value ?? Number.NaN), 6);
  }
}

it("the benchmark runs every figure at tiny sizes and reports well-formed results", { timeout: 180_000 }, async () => {
  const out = await runBench({ mode: "smoke" });
  for (const r of out.results) wellFormed(r);
  const failed = out.results.filter((r) => typeof r.conditions.error === "string");
  expect(failed.map((r) => `${r.name}: ${r.conditions.error}`)).toEqual([]);
  for (const figure of ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8."]) {
    const rows = out.results.filter((r) => r.name.startsWith(figure));
    expect(rows.length, `figure ${figure}`).toBeGreaterThan(0);
    expect(
      rows.some((r) => r.value !== null),
      `figure ${figure} has a value`,
    ).toBe(true);
  }
  expect(out.results.some((r) => r.name.startsWith("baseline: DO echo"))).toBe(true);
  expect(out.results.some((r) => r.name.startsWith("baseline: fan-out floor"))).toBe(true);
  expect(out.results.some((r) => r.name.startsWith("4a.") && r.value !== null)).toBe(true);

  // Figure 4b reads the counters that only the bench build has: calls and commits must have been counted.
  const cost = out.results.filter((r) => r.name.startsWith("4b."));
  for (const unit of ["calls/msg", "commits/msg"]) {
    const rows = cost.filter((r) => r.unit === unit);
    expect(rows.length, unit).toBe(2);
    for (const r of rows) {
      expect(r.value, r.name).toBeGreaterThan(0);
      expect(r.conditions.oneIsolate, r.name).toBe(true);
    }
  }

  // Figure 4d: the reaction burst against the message burst, its time and both counts with a baseline.
  const reactions = out.results.filter((r) => r.name.startsWith("4d."));
  expect(reactions.map((r) => r.unit).sort()).toEqual(["calls/entry", "commits/entry", "ms"]);
  for (const r of reactions) {
    expect(r.value, r.name).toBeGreaterThan(0);
    expect(r.baseline?.value, r.name).toBeGreaterThan(0);
  }

  // Figure 7: upload and download against the bare R2 put and get, and the memory peak against the RSS before.
  const files = out.results.filter((r) => r.name.startsWith("7."));
  expect(files.map((r) => r.unit).sort()).toEqual(["MB/s", "MB/s", "MiB"]);
  for (const r of files) {
    expect(r.value, r.name).toBeGreaterThan(0);
    expect(r.baseline?.value, r.name).toBeGreaterThan(0);
  }

  // Figure 8: send → push against a bare fetch (too few samples for a ratio), and pushes/s to a group.
  const pushes = out.results.filter((r) => r.name.startsWith("8."));
  expect(pushes.map((r) => r.unit).sort()).toEqual(["ms", "ms", "pushes/s"]);
  for (const r of pushes) {
    expect(r.value, r.name).toBeGreaterThan(0);
    expect(r.baseline?.value, r.name).toBeGreaterThan(0);
  }
  const rate = pushes.find((r) => r.unit === "pushes/s");
  expect(rate?.conditions.subscribed).toBe(3);

  const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  try {
    writeReport(dir, out.results, out.meta);
    const json = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as FigureResult[];
    expect(json.map((r) => r.name)).toEqual(out.results.map((r) => r.name));
    expect(readFileSync(join(dir, "latest.svg"), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(readFileSync(join(dir, "latest.md"), "utf8")).toContain("](latest.svg)");
    expect(existsSync(join(dir, "latest.meta.json"))).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
