/** Process trees and resident memory from /proc (Linux): which workerd processes a server runs, and their RSS. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces; the fields after the last ")" are fixed.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    return { pid, ppid, comm };
  } catch {
    return null;
  }
}

/** `root` and all its descendants. */
export function processTree(root: number): ProcInfo[] {
  const all = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => p !== null);
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const self = all.find((p) => p.pid === root);
  const stack = self ? [self] : [];
  while (stack.length > 0) {
    const p = stack.pop() as ProcInfo;
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** The workerd processes under `root` (wrangler and Miniflare run it as a child). */
export function workerdPids(root: number): number[] {
  return processTree(root)
    .filter((p) => p.comm.startsWith("workerd"))
    .map((p) => p.pid);
}

/** Resident set size in bytes, summed over `pids` (VmRSS of /proc/<pid>/status). */
export function rssBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      total += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** CPU time (user + system, ms) used so far by `pids`, from /proc/<pid>/stat. */
export function cpuMs(pids: number[]): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / tick;
    } catch {
      // gone
    }
  }
  return total;
}

/** How many files `pid` holds open whose path contains `part` (e.g. the SQLite WAL files of live objects). */
export function openFiles(pids: number[], part: string): number {
  let count = 0;
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).includes(part)) count += 1;
      } catch {
        // closed meanwhile
      }
    }
  }
  return count;
}
