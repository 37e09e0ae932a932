/**
 * One logical connection to `/v1/connect`: it asks for a fresh token before every attempt,
 * reconnects with exponential backoff and full jitter, pings every 30 s with the exact bytes
 * the runtime answers without waking the server, and drops a socket that stays silent.
 */
import { type ClientFrame, PING, type ServerFrame } from "../protocol/frames";
import { PING_INTERVAL_MS } from "../protocol/limits";

/** The part of the WebSocket API the SDK uses; browsers' and Node 22's global WebSocket fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface BackoffOptions {
  /** First retry waits up to this long (ms). */
  baseMs: number;
  /** No retry waits longer than this (ms). */
  maxMs: number;
}

export interface ConnectionOptions {
  url: (token: string) => string;
  getToken: () => Promise<string>;
  createSocket: SocketFactory;
  backoff: BackoffOptions;
  pingIntervalMs: number;
  onFrame: (frame: ServerFrame, conn: number) => void;
  onClose: (info: { retryInMs?: number; reason?: string }) => void;
  onConnecting: () => void;
  onError: (message: string) => void;
}

/** The connection of one device: `GET /v1/connect?device=…&token=…` at `baseUrl` (http → ws). */
export function deviceConnection(
  options: {
    baseUrl: string;
    deviceId: string;
    getToken: () => Promise<string>;
    createSocket?: SocketFactory;
    backoff?: Partial<BackoffOptions>;
    pingIntervalMs?: number;
  },
  handlers: Pick<ConnectionOptions, "onFrame" | "onClose" | "onConnecting" | "onError">,
): Connection {
  const wsBase = options.baseUrl.replace(/^http/, "ws");
  const device = encodeURIComponent(options.deviceId);
  return new Connection({
    url: (token) => `${wsBase}/v1/connect?device=${device}&token=${encodeURIComponent(token)}`,
    getToken: options.getToken,
    createSocket: options.createSocket ?? ((url: string) => new WebSocket(url)),
    backoff: { baseMs: options.backoff?.baseMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 },
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    ...handlers,
  });
}

const OPEN = 1;
/** Close code of a socket replaced by a newer connection of the same device. */
export const REPLACED_CLOSE_CODE = 4000;

/** Exponential backoff with full jitter: uniformly random in [0, min(max, base · 2^attempt)]. */
export function backoffDelay(attempt: number, { baseMs, maxMs }: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

export class Connection {
  private socket: SocketLike | null = null;
  private conn = 0;
  private attempt = 0;
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;

  constructor(private readonly options: ConnectionOptions) {}

  /** Starts connecting (and reconnecting after every loss) until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.open();
  }

  /** Closes the socket and stops reconnecting. */
  stop(reason = "closed by the client"): void {
    const wasRunning = this.running;
    this.running = false;
    this.clearRetry();
    if (this.socket) this.drop(1000, reason);
    // Stopped while waiting to retry: say so, or the app would keep showing "retrying".
    else if (wasRunning) this.options.onClose({ reason });
  }

  /** Drops the current socket and connects again at once (e.g. the network came back). */
  reconnect(): void {
    if (!this.running) {
      this.start();
      return;
    }
    this.clearRetry();
    this.attempt = 0;
    this.drop(4001, "reconnecting");
    this.clearRetry();
    void this.open();
  }

  /** Whether a socket is open (frames sent now reach the server). */
  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** The number of the current connection; frames are tagged with it. */
  get current(): number {
    return this.conn;
  }

  /** Sends a frame if the socket is open; answers whether it was sent. */
  send(frame: ClientFrame): boolean {
    return this.sendText(JSON.stringify(frame));
  }

  /** Sends raw text (the exact ping bytes) if the socket is open; answers whether it was sent. */
  private sendText(text: string): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    try {
      this.socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  private async open(): Promise<void> {
    if (!this.running || this.socket) return;
    this.options.onConnecting();
    let token: string;
    try {
      token = await this.options.getToken();
    } catch (err) {
      this.options.onError(`getToken failed: ${err instanceof Error ? err.message : String(err)}`);
      return this.scheduleRetry();
    }
    if (!this.running || this.socket) return;
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url(token));
    } catch (err) {
      this.options.onError(`could not open a WebSocket: ${err instanceof Error ? err.message : String(err)}`);
      return this.scheduleRetry();
    }
    const conn = ++this.conn;
    this.socket = socket;
    this.lastHeard = Date.now();
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket) return;
      this.lastHeard = Date.now();
      const frame = parseServerFrame(event.data);
      if (!frame) return;
      if (frame.type === "ready") this.attempt = 0;
      this.options.onFrame(frame, conn);
    });
    // Pinging starts before the socket opens, so a connect that hangs is dropped like a silent socket.
    this.startPings(socket);
    // Node 22's WebSocket fires only `error`, never `close`, when the upgrade is refused (e.g. 401).
    socket.addEventListener("error", () => {
      if (this.socket !== socket || socket.readyState === OPEN) return;
      this.drop(1006, "connection failed");
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.closed(event.code === REPLACED_CLOSE_CODE ? "replaced" : event.reason || undefined, event.code);
    });
  }

  /** The socket is gone: tidy up, tell the client, and schedule the next attempt. */
  private closed(reason: string | undefined, code: number): void {
    this.stopPings();
    this.socket = null;
    // Another connection of this very device took over: retrying would only fight it.
    if (code === REPLACED_CLOSE_CODE) this.running = false;
    if (!this.running) {
      this.options.onClose({ reason });
      return;
    }
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason?: string): void {
    if (!this.running) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.options.onClose({ retryInMs: delay, reason });
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, delay);
  }

  private drop(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
    // Do not wait for the close handshake: a dead network may never complete it.
    this.closed(reason, code);
  }

  private startPings(socket: SocketLike): void {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (this.socket !== socket) return;
      // Silent for two intervals: the connection is dead even if the socket does not know it yet.
      if (Date.now() - this.lastHeard > 2 * this.options.pingIntervalMs) {
        this.drop(4002, "no answer to pings");
        return;
      }
      this.sendText(PING);
    }, this.options.pingIntervalMs);
    unref(this.pingTimer);
  }

  private stopPings(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

export const DEFAULT_PING_INTERVAL_MS = PING_INTERVAL_MS;

/** A server frame, or null for anything that is not a JSON object with a string `type`. */
function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== "object" || value === null || typeof (value as { type?: unknown }).type !== "string") {
      return null;
    }
    return value as ServerFrame;
  } catch {
    return null;
  }
}

/** Lets Node exit while only the ping timer is left (browsers have no unref). */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
