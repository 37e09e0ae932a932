/** The commands the bench sends to its client agents (child processes) over IPC, and their answers. */

/** `app`: a device on `/v1/connect` (waits for `ready`); `echo`: a bare echo socket (waits for open). */
export type ConnKind = "app" | "echo";

export interface ConnSpec {
  key: string;
  url: string;
  kind: ConnKind;
  /** Sent as `Authorization: Bearer`, the non-browser way. */
  token?: string;
}

/** One socket that takes part in a load: with `chatId` it sends messages, without it echo frames. */
export interface LoadTarget {
  key: string;
  chatId?: string;
}

export interface LoadSpec {
  targets: LoadTarget[];
  /** Offered frames/s summed over the targets (open loop); 0 means closed loop with `window` per target. */
  rate: number;
  window?: number;
  durationMs: number;
  /** How long to wait after the last send for outstanding answers (a backlog must not spill into the next step). */
  drainMs: number;
  bodyBytes: number;
}

export interface LoadResult {
  sent: number;
  completed: number;
  /** Completed before the sending stopped (a closed loop's rate is this / duration). */
  inWindow: number;
  errors: number;
  /** Send to ack (or echo) in ms, one per completed frame. */
  latencies: number[];
  /** From the first send to the last completion. */
  elapsedMs: number;
  firstError?: string;
}

export interface DeliveryReport {
  /** `message` frames received since the last reset. */
  count: number;
  /** Sender to this recipient, ms (clocks: the machine's monotonic clock, shared by all processes). */
  latencies: number[];
  /** Per tag (see `sendTagged`): how many recipients here and the latest arrival. */
  tags: Record<string, { count: number; maxMs: number }>;
}

/**
 * `message` frames of one chat (any kind) received by this agent's sockets since the last
 * reset, and the clock (ns, a decimal string; "0" when none) at the latest.
 */
export interface Arrivals {
  count: number;
  lastNs: string;
}

export interface SyncSpec {
  conn: ConnSpec;
  chatId: string;
  /** The seq this device already holds. */
  after: number;
  expect: number;
  pageLimit: number;
}

export interface SyncResult {
  ms: number;
  readyMs: number;
  got: number;
  pages: number;
  inOrder: boolean;
  listedInReady: boolean;
  /** Size of each history frame, for the echo baseline of the same bytes. */
  pageBytes: number[];
}

export type Command =
  | { cmd: "open"; conns: ConnSpec[]; concurrency: number }
  | { cmd: "close"; keys?: string[] }
  | { cmd: "config"; ackReceived: boolean }
  | { cmd: "load"; spec: LoadSpec }
  | { cmd: "deliveries"; reset: boolean; withLatencies: boolean }
  | { cmd: "sendTagged"; key: string; chatId: string; tag: string }
  | { cmd: "floorSend"; key: string; tag: string; prefix: string; count: number; concurrency: number }
  | {
      cmd: "burst";
      key: string;
      chatId: string;
      count: number;
      window: number;
      bodyBytes: number;
      /** Send reactions instead of text: the i-th to `targets[i % n]` with `emoji[i % m]`. */
      reactions?: { targets: number[]; emoji: string[] };
    }
  | { cmd: "arrivals"; chatId: string; reset: boolean }
  | { cmd: "sync"; spec: SyncSpec }
  | { cmd: "blobs"; conn: ConnSpec; bytes: number[] }
  | { cmd: "exit" };

export interface Answers {
  open: { opened: number; failed: number; firstError?: string };
  close: { closed: number };
  config: Record<string, never>;
  load: LoadResult;
  deliveries: DeliveryReport;
  sendTagged: { ackMs: number };
  floorSend: { ms: number };
  /** `startNs`: the clock (`process.hrtime`, ns, as a decimal string) before the first send; `seqs`: acked, in ack order. */
  burst: {
    ms: number;
    acked: number;
    errors: number;
    lastSeq: number;
    seqs: number[];
    startNs: string;
    firstError?: string;
  };
  arrivals: Arrivals;
  sync: SyncResult;
  blobs: { ms: number };
  exit: Record<string, never>;
}

export type Request = Command & { id: number };
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
