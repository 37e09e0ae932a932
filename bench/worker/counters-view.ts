/** What `/bench/counters` answers (bench only): shared by the bench Worker and the bench in Node. */

/** Counts by key: `Caller->Callee.method` for calls, the class for commits and writes. */
export type Counts = Record<string, number>;

export interface CountersView {
  /** Names the isolate that counted: the same for every object and the Worker when they share one. */
  isolate: string;
  sinceMs: number;
  totals: {
    calls: number;
    fetches: number;
    workerCalls: number;
    commits: number;
    writes: number;
    transactions: number;
    noopWrites: number;
  };
  /** Calls between objects (RPC methods, from an object's `env`); `fetch` is counted apart. */
  calls: Counts;
  /** `fetch` on a stub, by `Caller->Callee` (the Worker forwarding a WebSocket upgrade). */
  fetches: Counts;
  /** RPC calls by the Worker itself, by `Worker->Callee.method`. */
  workerCalls: Counts;
  /** SQLite commits by class (counted per object per turn with a write). */
  commits: Counts;
  /** Write statements (SQL and storage writes) by class. */
  writes: Counts;
  /** `transactionSync` calls by class. */
  transactions: Counts;
  /** Statements that would write but changed no row (e.g. CREATE TABLE IF NOT EXISTS), by class: no commit. */
  noopWrites: Counts;
}
