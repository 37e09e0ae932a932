/**
 * `npm run serve` (tools/serve.ts): the built bundle answers `/health` and the page, a dev
 * token opens a socket that sends and gets its ack, and what was sent is still there after a
 * restart on the same state directory, the second start through the CLI, stopped with SIGINT.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort } from "../../tools/local-server";
import { findProjectRoot } from "../../tools/project-root";
import { type Served, serve } from "../../tools/serve";

const ROOT = findProjectRoot(import.meta.dirname);
const stateDir = mkdtempSync(join(tmpdir(), "edge-chat-serve-"));
let served: Served | null = null;
let cli: ChildProcess | null = null;

afterAll(async () => {
  await served?.stop();
  if (cli && cli.exitCode === null) cli.kill("SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
});

type Frame = Record<string, unknown> & { type: string };

/** A socket whose frames are awaited in order of arrival. */
async function connect(url: string, userId: string): Promise<{ next(): Promise<Frame>; send(f: Frame): void }> {
  const res = await fetch(`${url}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  const { token } = (await res.json()) as { token: string };
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/connect?device=phone&token=${token}`);
  const frames: Frame[] = [];
  const waiting: ((f: Frame) => void)[] = [];
  ws.addEventListener("message", (e) => {
    const frame = JSON.parse(String(e.data)) as Frame;
    const w = waiting.shift();
    if (w) w(frame);
    else frames.push(frame);
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error("socket error")));
  });
  return {
    next: () => {
      const f = frames.shift();
      return f ? Promise.resolve(f) : new Promise((resolve) => waiting.push(resolve));
    },
    send: (f) => ws.send(JSON.stringify(f)),
  };
}

async function bearer(url: string, userId: string): Promise<string> {
  const res = await fetch(`${url}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}

/** Resolves once the CLI prints its address; rejects if it exits first. */
function cliUp(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
      const m = /the built bundle at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.stderr?.on("data", (d) => {
      out += String(d);
    });
    child.once("exit", (code) => reject(new Error(`serve exited (${code}) before it served:\n${out}`)));
  });
}

it("serves the built bundle: health, page, a socket's send; state survives a restart through the CLI", async () => {
  served = await serve({ port: await freePort(), stateDir });
  const first = served.url;
  expect(await (await fetch(`${first}/health`)).json()).toEqual({ ok: true });
  const page = await fetch(`${first}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<!doctype html>");

  const chat = await fetch(`${first}/v1/chats`, {
    method: "POST",
    headers: { Authorization: await bearer(first, "serve-alice"), "Content-Type": "application/json" },
    body: JSON.stringify({ type: "direct", with: "serve-bob" }),
  });
  const { chatId } = (await chat.json()) as { chatId: string };
  const alice = await connect(first, "serve-alice");
  expect(await alice.next()).toMatchObject({ type: "ready", userId: "serve-alice" });
  alice.send({ type: "send", id: "s1", chatId, clientMsgId: "kept-1", body: "still here after a restart" });
  expect(await alice.next()).toMatchObject({ type: "ack", id: "s1", chatId, seq: 1 });
  await served.stop();
  served = null;

  const port = await freePort();
  cli = spawn(process.execPath, ["tools/run-ts.mjs", "tools/serve-cli.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), SERVE_STATE: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const second = await cliUp(cli);
  const bob = await connect(second, "serve-bob");
  const ready = await bob.next();
  expect(ready).toMatchObject({ type: "ready", chats: [expect.objectContaining({ chatId, lastSeq: 1 })] });
  const history = await fetch(`${second}/v1/chats/${chatId}/messages?after=0`, {
    headers: { Authorization: await bearer(second, "serve-bob") },
  });
  const { messages } = (await history.json()) as { messages: { seq: number; body: string }[] };
  expect(messages.map((m) => [m.seq, m.body])).toEqual([[1, "still here after a restart"]]);

  const exited = new Promise<number | null>((resolve) => cli?.once("exit", (code) => resolve(code)));
  cli.kill("SIGINT");
  expect(await exited).toBe(0);
  await expect(fetch(`${second}/health`)).rejects.toThrow();
}, 120_000);
