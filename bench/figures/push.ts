/**
 * Figure 8 (issue 15): Web Push, against the Node push service of the e2e tests, started in the
 * harness process (it verifies VAPID and decrypts every push). Latency: `samples` sends, each by
 * HTTP into a direct chat whose recipient has no socket and one subscribed device, timed from the
 * send to the push's arrival at the push service, beside a plain `fetch` from the bench Worker to
 * the same service (`/bench/fetch`, harness → Worker → push service and back). The push's path
 * includes by design the chat's notice window for parked members (at most every 2 s) and the
 * push's 1.5 s wait for newer messages: nothing is subtracted. Rate: one send into a group whose
 * other `members` are all offline and subscribed, timed to the last of their pushes; beside it,
 * as many bare fetches to the push service, 16 in flight.
 */
import { PushService, type TestSubscription } from "../../test/e2e/push-service";
import { api, type Bench, createGroup, figure, percentileRow, row, type Sampled } from "../context";
import { awaitIdle } from "../idle";
import { signToken } from "../local-env";
import { summarize } from "../stats";

const IN_FLIGHT = 16;

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function call(bench: Bench, userId: string, method: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${bench.server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${signToken(userId, bench.secret)}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

async function subscribe(bench: Bench, service: PushService, userId: string): Promise<TestSubscription> {
  const sub = await service.subscribe();
  const status = await call(bench, userId, "PUT", "/v1/devices/phone/push", { endpoint: sub.endpoint, keys: sub.keys });
  if (status !== 204) throw new Error(`push subscription answered ${status}`);
  return sub;
}

async function send(bench: Bench, userId: string, chatId: string, body: string): Promise<void> {
  const status = await call(bench, userId, "POST", `/v1/chats/${chatId}/messages`, {
    clientMsgId: `${body}-${Date.now()}`,
    body,
  });
  if (status !== 200 && status !== 201) throw new Error(`send answered ${status}`);
}

/** One plain fetch from the bench Worker to `endpoint`; answers its round trip in ms. */
async function bareFetch(bench: Bench, endpoint: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${bench.server.url}/bench/fetch?url=${encodeURIComponent(endpoint)}`, {
    method: "POST",
    body: "bench",
  });
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`/bench/fetch answered ${res.status}`);
  return performance.now() - started;
}

export async function pushFigures(bench: Bench): Promise<void> {
  const p = bench.params.push;
  await figure(bench, "8. push", "ms", async () => {
    const key = await api(bench, `${bench.runId}-f8k`, "GET", "/v1/push/key");
    if (typeof key.body.publicKey !== "string") throw new Error(`GET /v1/push/key answered ${key.status}`);
    const service = await PushService.start(key.body.publicKey);
    try {
      const sender = `${bench.runId}-f8s`;
      const latencies: number[] = [];
      for (let i = 0; i < p.samples; i++) {
        const recipient = `${bench.runId}-f8r${i}`;
        const chat = await api(bench, sender, "POST", "/v1/chats", { type: "direct", with: recipient });
        const chatId = chat.body.chatId;
        if (typeof chatId !== "string") throw new Error(`direct chat answered ${chat.status}`);
        const sub = await subscribe(bench, service, recipient);
        await awaitIdle(bench.server);
        const sent = Date.now();
        await send(bench, sender, chatId, `f8-${i}`);
        const push = await sub.nth(1, 30_000);
        if (sub.problems.length > 0) throw new Error(`push refused by the push service: ${sub.problems[0]}`);
        latencies.push(push.at - sent);
      }
      const bareSub = await service.subscribe();
      const bare: number[] = [];
      for (let i = 0; i < p.samples; i++) bare.push(await bareFetch(bench, bareSub.endpoint));
      const mine = summarize(latencies);
      const base = summarize(bare);
      bench.log(
        `    send → push, ${p.samples} offline recipients: p50 ${mine.p50.toFixed(0)} ms, max ${mine.max.toFixed(0)} ms; bare fetch p50 ${base.p50.toFixed(1)} ms`,
      );
      const at = (s: typeof mine, q: 50 | 99): Sampled => ({
        value: q === 50 ? s.p50 : s.p99,
        samples: p.samples,
        max: s.max,
      });
      for (const q of [50, 99] as const)
        bench.results.push(
          percentileRow(
            `8. push: send → push received, offline recipient, p${q}`,
            "ms",
            q,
            at(mine, q),
            { name: `bare Worker: one fetch to the same push service, round trip, p${q}`, got: at(base, q) },
            {
              sends: p.samples,
              chat: "direct, a new one per send; the recipient has never connected and has one subscribed device",
              note: "includes by design the chat's notice to parked members (at most every 2 s) and the push's 1.5 s wait for newer messages; nothing subtracted",
            },
          ),
        );

      const members = Array.from({ length: p.members }, (_, i) => `${bench.runId}-f8g${i}`);
      const subs: TestSubscription[] = [];
      await pool(members, IN_FLIGHT, async (m) => {
        subs.push(await subscribe(bench, service, m));
      });
      // Subscribed before the group exists: a chat learns whether a parked member has subscriptions
      // when it parks it (at the group's creation), and a later subscription does not tell it.
      const chatId = await createGroup(bench, sender, members);
      await awaitIdle(bench.server);
      const sent = Date.now();
      await send(bench, sender, chatId, "f8-group");
      const deadline = sent + Math.max(60_000, 60 * p.members);
      const arrived = () => subs.filter((s) => s.pushes.length > 0).length;
      while (arrived() < p.members) {
        if (Date.now() > deadline)
          throw new Error(`${arrived()} of ${p.members} pushes after ${(deadline - sent) / 1000} s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const problems = subs.flatMap((s) => s.problems);
      if (problems.length > 0) throw new Error(`${problems.length} pushes refused, the first: ${problems[0]}`);
      const arrivals = subs.map((s) => (s.pushes[0]?.at ?? sent) - sent);
      const lastMs = Math.max(...arrivals);
      const firstMs = Math.min(...arrivals);

      const bareSubs = await Promise.all(members.map(() => service.subscribe()));
      const bareStarted = performance.now();
      await pool(bareSubs, IN_FLIGHT, async (s) => {
        await bareFetch(bench, s.endpoint);
      });
      const bareMs = performance.now() - bareStarted;
      const rate = p.members / (lastMs / 1000);
      bench.log(
        `    group of ${p.members + 1}: first push after ${firstMs} ms, last after ${lastMs} ms: ${rate.toFixed(0)} pushes/s (bare fetches ${(p.members / (bareMs / 1000)).toFixed(0)}/s)`,
      );
      bench.results.push(
        row(
          `8. push: pushes/s to ${p.members.toLocaleString("en-US")} offline subscribed members of one group`,
          rate,
          "pushes/s",
          {
            name: `bare Worker: fetches/s to the same push service, ${IN_FLIGHT} in flight`,
            value: p.members / (bareMs / 1000),
            unit: "fetches/s",
          },
          {
            members: p.members + 1,
            subscribed: p.members,
            samples: 1,
            firstPushMs: firstMs,
            lastPushMs: lastMs,
            firstToLastPushesPerS: Math.round(p.members / (Math.max(1, lastMs - firstMs) / 1000)),
            note: "one message, timed from the send to the last push's arrival; includes the notice window (2 s) and the 1.5 s collapse wait",
          },
        ),
      );
    } finally {
      await service.close();
    }
  });
}
