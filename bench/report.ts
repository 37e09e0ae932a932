/**
 * The bench's outputs: a table for the terminal, `latest.json` (one object per row), and a
 * Markdown report with an SVG bar chart of the ratios (log scale) that the README links.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FigureResult } from "./context";
import type { RunMeta } from "./harness";

const fmt = (v: number | null | undefined, digits = 2): string => {
  if (v === null || v === undefined) return "n/a";
  if (!Number.isFinite(v)) return "∞";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(digits);
};

const noteOf = (r: FigureResult): string => {
  const c = r.conditions;
  if (typeof c.note === "string" && r.value === null) return c.note;
  if (typeof c.error === "string") return `failed: ${c.error}`;
  const parts: string[] = [];
  if (typeof c.p50 === "number" && typeof c.p99 === "number") parts.push(`p50 ${fmt(c.p50)} / p99 ${fmt(c.p99)} ms`);
  if (typeof c.note === "string") parts.push(c.note);
  return parts.join("; ");
};

export function table(results: FigureResult[]): string {
  const rows = results.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit}` : "",
    r.ratio === null ? "" : `${fmt(r.ratio, 3)}×`,
    noteOf(r),
  ]);
  const head = ["figure", "value", "baseline", "ratio", "notes"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars of figure / baseline on a log scale from 0.01 to 100, with a line at 1. */
export function svgChart(results: FigureResult[]): string {
  const bars = results.filter((r) => r.ratio !== null && Number.isFinite(r.ratio) && (r.ratio ?? 0) > 0);
  const labelW = 430;
  const plotW = 420;
  const rowH = 22;
  const top = 30;
  const height = top + bars.length * rowH + 30;
  const x = (ratio: number) => labelW + ((Math.log10(Math.min(100, Math.max(0.01, ratio))) + 2) / 4) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 70}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-weight="bold">figure / baseline (log scale; latency and memory: lower is better)</text>`,
  ];
  for (const tick of [0.01, 0.1, 1, 10, 100]) {
    out.push(
      `<line x1="${x(tick)}" y1="${top - 4}" x2="${x(tick)}" y2="${height - 24}" stroke="${tick === 1 ? "#333" : "#ddd"}"/>`,
      `<text x="${x(tick)}" y="${height - 10}" text-anchor="middle">${tick}×</text>`,
    );
  }
  bars.forEach((r, i) => {
    const y = top + i * rowH;
    const ratio = r.ratio as number;
    const higherIsBetter = r.unit.endsWith("/s");
    const good = higherIsBetter ? ratio >= 0.5 : ratio <= 2;
    const x0 = x(1);
    const x1 = x(ratio);
    out.push(
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(r.name)}</text>`,
      `<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${good ? "#4a90d9" : "#e8833a"}"/>`,
      `<text x="${Math.max(x0, x1) + 4}" y="${y + 15}">${fmt(ratio, 3)}×</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

export function markdown(results: FigureResult[], meta: RunMeta, svgName: string): string {
  const m = meta.machine;
  const lines = [
    "# Benchmark results",
    "",
    `Mode \`${meta.mode}\`, ${meta.startedAt}, ${meta.durationS} s on ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node};`,
    `load average ${meta.loadAverage.start} at the start and ${meta.loadAverage.end} at the end (other work on the machine skews every figure, the ratios less).`,
    `Server: ${meta.server}. Clients: real WebSocket clients (\`ws\`) in separate processes, loopback only.`,
    "Every figure is shown next to a baseline measured in the same run; the ratio is figure / baseline.",
    "How each figure is measured, and why the server runs in workerd directly: [bench/README.md](../README.md).",
    "",
    `![ratios](${svgName})`,
    "",
    "| figure | value | baseline | ratio | notes |",
    "| --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baseline ? `${esc(r.baseline.name)}: ${fmt(r.baseline.value)} ${r.baseline.unit}` : ""} | ${r.ratio === null ? "" : `${fmt(r.ratio, 3)}×`} | ${esc(noteOf(r))} |`,
    ),
  ];
  if (meta.setups.length > 0) {
    lines.push(
      "",
      "## Ways of running the service locally",
      "",
      "| setup | start (ms) | DO echo, closed loop (frames/s) | echo RTT p50 / p99 (ms) | workerd processes | their RSS (MiB) |",
      "| --- | --- | --- | --- | --- | --- |",
      ...meta.setups.map(
        (s) =>
          `| ${s.kind} | ${s.startMs} | ${fmt(s.echoPerSecond)} | ${fmt(s.rttP50)} / ${fmt(s.rttP99)} | ${s.processes} | ${fmt(s.rssBytes / 2 ** 20, 1)} |`,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `<base>.json`, `<base>.meta.json`, `<base>.svg` and `<base>.md` into `dir`; answers their names. */
export function writeReport(dir: string, results: FigureResult[], meta: RunMeta, base = "latest"): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [`${base}.json`, `${base}.meta.json`, `${base}.svg`, `${base}.md`];
  writeFileSync(join(dir, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, `${base}.meta.json`), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileSync(join(dir, `${base}.svg`), `${svgChart(results)}\n`);
  writeFileSync(join(dir, `${base}.md`), markdown(results, meta, `${base}.svg`));
  return files;
}
