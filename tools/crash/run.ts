/**
 * The crash test: the service runs with its state on disk (`wrangler dev --persist-to`); senders
 * stream texts, edits, deletes and reactions into their chats while the whole runtime is SIGKILLed
 * at random moments and restarted on the same state and port. Then every recipient reconnects and
 * syncs, and the checker compares acks, the stored logs (paged both ways) and the recipients'
 * rows. Node only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message } from "../../protocol";
import { freePort, type LocalServer, startLocalServer } from "../local-server";
import { type ChatEvidence, check, type Figures, formatFigures, passed } from "./check";
import { Recipient, Sender } from "./clients";

export interface CrashOptions {
  messages: number;
  kills: number;
  chats?: number;
  /** Unacked sends each sender keeps in flight. */
  window?: number;
  /** Gives up (and fails) after this long. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface CrashResult {
  figures: Figures;
  seconds: number;
  passed: boolean;
  report: string;
}

/** The crash test measures durability, not the abuse limits: the send rate is effectively unlimited. */
const VARS = { SEND_RATE_PER_SECOND: "1000000", SEND_BURST: "1000000" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function historyPage(
  baseUrl: string,
  token: string,
  chatId: string,
  query: string,
): Promise<{ messages: Message[]; more: boolean }> {
  const res = await fetch(`${baseUrl}/v1/chats/${chatId}/messages?${query}&limit=500`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`history of ${chatId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { messages: Message[]; more: boolean };
}

/** A chat's whole log, paged with `after`. */
async function storedLog(baseUrl: string, token: string, chatId: string): Promise<Message[]> {
  const log: Message[] = [];
  for (let page = 0; page < 10_000; page++) {
    const body = await historyPage(baseUrl, token, chatId, `after=${log.at(-1)?.seq ?? 0}`);
    log.push(...body.messages);
    if (!body.more) break;
  }
  return log;
}

/** A chat's whole log, paged with `before` from past its end (scrolling up), in ascending seq order. */
async function scrolledLog(baseUrl: string, token: string, chatId: string, end: number): Promise<Message[]> {
  const log: Message[] = [];
  for (let page = 0; page < 10_000; page++) {
    const body = await historyPage(baseUrl, token, chatId, `before=${log.at(-1)?.seq ?? end + 1}`);
    log.push(...body.messages);
    if (!body.more) break;
  }
  return log.reverse();
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  const result = await Promise.race([promise, timeout]);
  clearTimeout(timer);
  if (result === null) console.warn(`crash test: ${what} did not finish within ${ms} ms`);
  return result;
}

/** Starts the server again on the same state and port; a port not yet released gets a few more tries. */
async function restart(port: number, persistDir: string): Promise<LocalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLocalServer({ port, persistDir, vars: VARS });
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(1_000);
    }
  }
}

export async function runCrashTest(options: CrashOptions): Promise<CrashResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const chats = options.chats ?? 4;
  const perChat = Math.ceil(options.messages / chats);
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  const persistDir = mkdtempSync(join(tmpdir(), "edge-chat-crash-"));
  const port = await freePort();
  let server: LocalServer = await startLocalServer({ port, persistDir, vars: VARS });
  const devices: (Sender | Recipient)[] = [];
  let kills = 0;
  try {
    const run = Date.now().toString(36);
    const base = server.url;
    const plan = await Promise.all(
      Array.from({ length: chats }, async (_, i) => {
        const sender = `crash-s${i}-${run}`;
        const recipient = `crash-r${i}-${run}`;
        const [{ token: senderToken }, { token: recipientToken }] = await Promise.all([
          post<{ token: string }>(`${base}/v1/dev/token`, { userId: sender }),
          post<{ token: string }>(`${base}/v1/dev/token`, { userId: recipient }),
        ]);
        const { chatId } = await post<{ chatId: string }>(
          `${base}/v1/chats`,
          { type: "direct", with: recipient },
          senderToken,
        );
        const ids = Array.from({ length: perChat }, (_, k) => `${run}-c${i}-m${k}`);
        const s = new Sender(base, senderToken, sender, "phone", chatId, ids, options.window ?? 50);
        const recipients = [
          new Recipient(base, recipientToken, recipient, "phone", chatId),
          new Recipient(base, recipientToken, recipient, "tablet", chatId),
          new Recipient(base, senderToken, sender, "laptop", chatId),
        ];
        return { chatId, sender, recipientToken, s, recipients };
      }),
    );
    for (const p of plan) devices.push(p.s, ...p.recipients);
    for (const p of plan) for (const r of p.recipients) r.start();
    const total = perChat * chats;
    const acked = () => plan.reduce((n, p) => n + p.s.acked, 0);
    const sending = Promise.all(plan.map((p) => p.s.run()));

    // Kill points spread over the stream at random: after a random share of the acks, plus a random delay.
    const points = Array.from({ length: options.kills }, () => 0.05 + Math.random() * 0.85).sort((a, b) => a - b);
    const killing = (async () => {
      for (const point of points) {
        while (acked() < point * total && Date.now() - started < timeoutMs) await sleep(10);
        await sleep(Math.random() * 200);
        const at = acked();
        await server.kill();
        kills += 1;
        const down = Date.now();
        server = await restart(port, persistDir);
        log(
          `kill ${kills}/${options.kills} at ${at}/${total} acked; back in ${((Date.now() - down) / 1000).toFixed(1)} s`,
        );
      }
    })();
    await withTimeout(Promise.all([sending, killing]), Math.max(1_000, timeoutMs - (Date.now() - started)), "sending");
    log(`all sends acked: ${acked()}/${total}; syncing recipients`);

    for (const p of plan) p.s.stop();
    await withTimeout(
      Promise.all(plan.flatMap((p) => p.recipients.map((r) => r.syncAfterReconnect()))),
      60_000,
      "recipient sync",
    );

    const evidence: ChatEvidence[] = [];
    for (const p of plan) {
      const stored = await storedLog(server.url, p.recipientToken, p.chatId);
      evidence.push({
        chatId: p.chatId,
        planned: p.s.ids.length,
        sent: p.s.entries,
        sender: p.sender,
        acks: p.s.acks,
        refused: p.s.refusals,
        resent: p.s.resent.size,
        dedupedResends: p.s.dedupedResends,
        stored,
        scrolled: await scrolledLog(server.url, p.recipientToken, p.chatId, stored.at(-1)?.seq ?? 0),
        recipients: p.recipients.map((r) => ({
          device: `${r.userId}/${r.deviceId}`,
          log: r.view.rows(),
          divergent: r.divergent,
          disordered: r.disordered,
          ready: r.lastReady,
        })),
      });
    }
    const figures = check(evidence, kills);
    const seconds = (Date.now() - started) / 1000;
    return { figures, seconds, passed: passed(figures), report: formatFigures(figures, seconds) };
  } finally {
    for (const d of devices) d.stop();
    await server.stop();
    rmSync(persistDir, { recursive: true, force: true });
  }
}
