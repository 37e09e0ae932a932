/**
 * Bench only, never deployed: counters of calls between objects and of SQLite commits. The
 * bench entry's subclasses of the app's objects hand their constructors a wrapped `env` and a
 * `ctx` whose `storage` is wrapped; the wrappers count and then call the real workerd objects (bound to them: workerd's
 * methods throw "Illegal invocation" with any other `this`). The counts live in this module's
 * state, which every object and the Worker share: locally workerd runs them in one isolate.
 *
 * A commit is counted per object per turn: workerd commits the writes of one synchronous stretch
 * of an object together (implicitly, or as one `transactionSync`), so the first write of an
 * object counts one commit and marks the object dirty until a `setTimeout(0)` runs, which comes
 * after that stretch and the microtasks it queued. An approximation: two stretches of one object
 * that run before the timer count as one commit, and a stretch whose statements all fail counts
 * as one. Writes are SQL other than SELECT/read-only PRAGMA/EXPLAIN, and the key-value and alarm
 * writes of `storage`.
 */

import type { CountersView, Counts } from "./counters-view";

/** The counts `/bench/counters` answers (see `CountersView`), and when counting started. */
type State = Omit<CountersView, "isolate" | "sinceMs" | "totals"> & { since: number };

const fresh = (): State => ({
  calls: {},
  fetches: {},
  workerCalls: {},
  commits: {},
  writes: {},
  transactions: {},
  noopWrites: {},
  since: Date.now(),
});

let state = fresh();
/** Names this isolate: every object and the Worker read the same one when they share it (set on first use: no randomness at global scope). */
let isolate = "";

const bump = (counts: Counts, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};
const sum = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);

export function readCounters(): CountersView {
  const s = state;
  if (!isolate) isolate = crypto.randomUUID();
  return {
    isolate,
    sinceMs: Date.now() - s.since,
    totals: {
      calls: sum(s.calls),
      fetches: sum(s.fetches),
      workerCalls: sum(s.workerCalls),
      commits: sum(s.commits),
      writes: sum(s.writes),
      transactions: sum(s.transactions),
      noopWrites: sum(s.noopWrites),
    },
    calls: s.calls,
    fetches: s.fetches,
    workerCalls: s.workerCalls,
    commits: s.commits,
    writes: s.writes,
    transactions: s.transactions,
    noopWrites: s.noopWrites,
  };
}

export function resetCounters(): void {
  state = fresh();
}

/** The binding names of the app's namespaces and the classes they hold. */
const NAMESPACES: Record<string, string> = { CHAT: "ChatObject", USER: "UserObject", RELAY: "RelayObject" };

/** A stub whose every RPC call is counted; `fetch` apart; `id`, `name` and `then` are not calls. */
function countingStub<T extends object>(stub: T, caller: string, callee: string): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function" || prop === "then") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== "string") return (...args: unknown[]) => Reflect.apply(fn, target, args);
      return (...args: unknown[]) => {
        if (prop === "fetch") bump(state.fetches, `${caller}->${callee}`);
        else bump(caller === "Worker" ? state.workerCalls : state.calls, `${caller}->${callee}.${prop}`);
        // Reflect.apply: on an RPC property, `.apply` would itself be an RPC call.
        return Reflect.apply(fn, target, args);
      };
    },
  });
}

/** A namespace whose stubs count their calls. */
function countingNamespace<T extends object>(ns: T, caller: string, callee: string): T {
  return new Proxy(ns, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === "get" || prop === "getByName")
        return (...args: unknown[]) => countingStub(Reflect.apply(fn, target, args) as object, caller, callee);
      return fn.bind(target);
    },
  });
}

/** `env` with the app's namespaces counting the calls that `caller` makes through them. */
export function countingEnv<E extends object>(env: E, caller: string): E {
  const wrapped = new Map<string, unknown>();
  return new Proxy(env, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      const callee = typeof prop === "string" ? NAMESPACES[prop] : undefined;
      if (!callee || typeof value !== "object" || value === null) return value;
      let w = wrapped.get(prop as string);
      if (!w) {
        w = countingNamespace(value, caller, callee);
        wrapped.set(prop as string, w);
      }
      return w;
    },
  });
}

/** SQL that only reads: SELECT, EXPLAIN, a PRAGMA without `=`, or a WITH that writes nothing. */
function readsOnly(query: string): boolean {
  const q = query.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, "").slice(0, 4000);
  const word = /^[A-Za-z]+/.exec(q)?.[0]?.toUpperCase() ?? "";
  if (word === "SELECT" || word === "EXPLAIN" || word === "VALUES") return true;
  if (word === "PRAGMA") return !q.includes("=");
  if (word === "WITH") return !/\b(insert|update|delete|replace)\b/i.test(q);
  return false;
}

/** Counts an object's commits: its first write in a turn is one (see the module's comment). */
class CommitMeter {
  private dirty = false;

  constructor(private readonly className: string) {}

  write(): void {
    bump(state.writes, this.className);
    if (this.dirty) return;
    this.dirty = true;
    bump(state.commits, this.className);
    setTimeout(() => {
      this.dirty = false;
    }, 0);
  }

  noop(): void {
    bump(state.noopWrites, this.className);
  }

  transaction(): void {
    bump(state.transactions, this.className);
  }
}

const STORAGE_WRITES = new Set(["put", "delete", "deleteAll", "setAlarm", "deleteAlarm"]);

function countingSql(sql: SqlStorage, meter: CommitMeter): SqlStorage {
  return new Proxy(sql, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === "exec")
        return (query: string, ...bindings: unknown[]) => {
          const cursor = Reflect.apply(fn, target, [query, ...bindings]) as SqlStorageCursor<
            Record<string, SqlStorageValue>
          >;
          // Counted after exec, which throws on bad SQL before writing anything, and has run the
          // statement: one that changed no row (CREATE TABLE IF NOT EXISTS on a wake) commits nothing.
          if (!readsOnly(query)) {
            if (cursor.rowsWritten > 0) meter.write();
            else meter.noop();
          }
          return cursor;
        };
      return fn.bind(target);
    },
  });
}

function countingStorage(storage: DurableObjectStorage, meter: CommitMeter): DurableObjectStorage {
  const sql = countingSql(storage.sql, meter);
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") return sql;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop === "transactionSync")
        return (...args: unknown[]) => {
          meter.transaction();
          return Reflect.apply(fn, target, args);
        };
      if (typeof prop === "string" && STORAGE_WRITES.has(prop))
        return (...args: unknown[]) => {
          meter.write();
          return Reflect.apply(fn, target, args);
        };
      return fn.bind(target);
    },
  });
}

/**
 * Makes `ctx.storage` count the commits of the object of class `className`. workerd's object
 * base class accepts only the real `DurableObjectState`, so the state itself cannot be wrapped:
 * its `storage` (an accessor on the prototype) is shadowed by an own property instead.
 */
export function countStorage(ctx: DurableObjectState, className: string): void {
  const storage = countingStorage(ctx.storage, new CommitMeter(className));
  Object.defineProperty(ctx, "storage", { value: storage, configurable: true, enumerable: true });
}
