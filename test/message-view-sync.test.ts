/**
 * Property test: the server's history and the shared `MessageView` agree. Random sequences of
 * sends, replies, edits, deletes and reactions by the members of a group (one admin) or of a
 * direct chat run against the real objects over HTTP, each answer checked against a model of the
 * rules (a refusal stores nothing); snapshots of the whole log (`before` paging) are taken
 * between them. At the end, a device that held any snapshot (or nothing) and applies what came
 * after it (the `after` pages, the same rows one by one, the frames pushed live, or all of it
 * shuffled and repeated) must hold exactly the rows a fresh `before` paging returns.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageView } from "../client/message-view";
import type { Message } from "../protocol";
import { api, connect, history, json, openDirect, storedSeqs, type TestSocket } from "./helpers/client";
import { createGroup, type User, users } from "./helpers/groups";

const RUNS = 25;
const MAX_OPS = 30;
/** How far a message is moved back in time: past the edit window (900 s), or past both windows. */
const AGES = { edit: 901_000, delete: 172_801_000 } as const;
const EMOJI = ["👍", "❤️", "😂", "🎉", "👨‍👩‍👧", ""];

/** Which message an operation names: a text message (the member's own, or anyone's), any seq, or one past the log. */
type Pick = { of: "own" | "text" | "any" | "beyond"; index: number };
type Op =
  | { op: "send"; by: number; replyTo?: Pick; age?: keyof typeof AGES }
  | { op: "edit"; by: number; target: Pick }
  | { op: "delete"; by: number; target: Pick }
  | { op: "react"; by: number; target: Pick; emoji: string }
  | { op: "snapshot" };

const pick: fc.Arbitrary<Pick> = fc.record({
  of: fc.oneof(
    { weight: 8, arbitrary: fc.constant("own" as const) },
    { weight: 9, arbitrary: fc.constant("text" as const) },
    { weight: 2, arbitrary: fc.constant("any" as const) },
    { weight: 1, arbitrary: fc.constant("beyond" as const) },
  ),
  index: fc.nat(1_000),
});
const by = fc.nat(2);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        op: fc.constant("send" as const),
        by,
        replyTo: pick,
        age: fc.constantFrom("edit" as const, "delete" as const),
      },
      { requiredKeys: ["op", "by"] },
    ),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("edit" as const), by, target: pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), by, target: pick }) },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant("react" as const), by, target: pick, emoji: fc.constantFrom(...EMOJI) }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "snapshot" as const }) },
);

/** What the test knows of each stored entry, to predict the server's answer. */
interface Known {
  readable: boolean;
  sender: number;
  deleted: boolean;
  age?: keyof typeof AGES;
}

/** A run's chat: its members (the first is the group's admin), and the model of its log. */
class Chat {
  readonly log = new Map<number, Known>();
  /** Seqs moved back in time, by how much: a pushed copy of them shows the older `ts` too. */
  readonly aged = new Map<number, number>();
  private texts: { seq: number; sender: number }[] = [];
  private counter = 0;

  constructor(
    readonly id: string,
    readonly members: User[],
    readonly group: boolean,
  ) {}

  get last(): number {
    return this.log.size;
  }

  /** The seq `p` names for member `who`. */
  seqOf(p: Pick, who: number): number {
    if (p.of === "beyond" || this.last === 0) return this.last + 1 + (p.index % 3);
    const own = this.texts.filter((t) => t.sender === who);
    const texts = p.of === "own" && own.length > 0 ? own : this.texts;
    if (p.of !== "any" && texts.length > 0) return (texts[p.index % texts.length] as { seq: number }).seq;
    return (p.index % this.last) + 1;
  }

  /** The HTTP status the contract gives `who` sending a change (or a reply) naming `seq`. */
  expected(kind: "text" | "edit" | "delete" | "reaction", who: number, seq: number | undefined): number {
    if (seq === undefined) return 200;
    const row = this.log.get(seq);
    if (!row) return 404;
    if (!row.readable) return 400;
    if (row.deleted) return 403;
    if (kind === "edit") return row.sender === who && row.age === undefined ? 200 : 403;
    if (kind === "delete") {
      if (this.group && who === 0) return 200;
      return row.sender === who && row.age !== "delete" ? 200 : 403;
    }
    return 200;
  }

  stored(seq: number, entry: Known): void {
    expect(seq, "seqs are assigned one after the other").toBe(this.last + 1);
    this.log.set(seq, entry);
    if (entry.readable) this.texts.push({ seq, sender: entry.sender });
  }

  /** A new text: some with more than ASCII in them. */
  text(prefix: string): string {
    this.counter += 1;
    return `${prefix} ${this.counter}${this.counter % 4 === 0 ? " ünï ✓" : ""}`;
  }

  clientMsgId(): string {
    this.counter += 1;
    return `c${this.counter}`;
  }
}

/** The whole log as `before` paging returns it, `limit` rows a page, in seq order. */
async function pagedLog(u: User, chatId: string, limit: number): Promise<Message[]> {
  const rows: Message[] = [];
  let before = 999_999_999_999_999;
  for (;;) {
    const page = await history(u.token, chatId, `before=${before}&limit=${limit}`);
    expect(page.status, page.text).toBe(200);
    rows.push(...page.messages);
    const last = page.messages.at(-1);
    if (!page.more || !last) return rows.reverse();
    before = last.seq;
  }
}

/** Every page of `after=X`, `limit` rows a page. */
async function pagesAfter(u: User, chatId: string, x: number, limit: number): Promise<Message[][]> {
  const pages: Message[][] = [];
  let after = x;
  for (;;) {
    const page = await history(u.token, chatId, `after=${after}&limit=${limit}`);
    expect(page.status, page.text).toBe(200);
    pages.push(page.messages);
    const last = page.messages.at(-1);
    if (!page.more || !last) return pages;
    after = last.seq;
  }
}

/** Moves a stored message's timestamp back, as if it had been sent `ms` earlier. */
async function age(chatId: string, seq: number, ms: number): Promise<void> {
  const stub = env.CHAT.get(env.CHAT.idFromName(chatId));
  await runInDurableObject(stub, (_i, state) => {
    state.storage.sql.exec("UPDATE messages SET ts = ts - ? WHERE seq = ?", ms, seq);
  });
}

async function send(chat: Chat, who: number, fields: Record<string, unknown>) {
  const res = await api(chat.members[who]?.token ?? "", "POST", `/v1/chats/${chat.id}/messages`, {
    clientMsgId: chat.clientMsgId(),
    body: "",
    ...fields,
  });
  return { status: res.status, body: await json<{ seq?: number }>(res) };
}

/** Runs one operation; checks the answer against the model and that a refusal stored nothing. */
async function run(chat: Chat, o: Exclude<Op, { op: "snapshot" }>): Promise<void> {
  const who = o.by % chat.members.length;
  let kind: "text" | "edit" | "delete" | "reaction";
  let named: number | undefined;
  let fields: Record<string, unknown>;
  switch (o.op) {
    case "send":
      kind = "text";
      named = o.replyTo && chat.seqOf(o.replyTo, who);
      fields = { body: chat.text("text"), replyTo: named };
      break;
    case "edit":
      kind = "edit";
      named = chat.seqOf(o.target, who);
      fields = { kind, target: named, body: chat.text("edit") };
      break;
    case "delete":
      kind = "delete";
      named = chat.seqOf(o.target, who);
      fields = { kind, target: named };
      break;
    case "react":
      kind = "reaction";
      named = chat.seqOf(o.target, who);
      fields = { kind, target: named, body: o.emoji };
      break;
  }
  const want = chat.expected(kind, who, named);
  const got = await send(chat, who, fields);
  const what = `${JSON.stringify(o)} as member ${who} naming ${named}`;
  expect(got.status, `${what}: ${JSON.stringify(got.body)}`).toBe(want);
  if (want === 200) {
    const seq = got.body.seq as number;
    chat.stored(seq, { readable: kind === "text", sender: who, deleted: false });
    const target = named === undefined ? undefined : chat.log.get(named);
    if (kind === "delete" && target) target.deleted = true;
    if (o.op === "send" && o.age) {
      await age(chat.id, seq, AGES[o.age]);
      chat.aged.set(seq, AGES[o.age]);
      (chat.log.get(seq) as Known).age = o.age;
    }
  }
  const seqs = await storedSeqs(chat.id);
  expect(seqs.length, `${what}: the entries stored`).toBe(chat.last);
}

/** A deterministic shuffle (mulberry32), so that a failing run can be replayed from its seed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function viewOf(rows: Message[]): MessageView {
  const view = new MessageView();
  view.apply(...rows);
  return view;
}

/** The frames pushed to `socket` for `chat` after `from`, as messages, `ts` moved back as the stored rows were. */
async function pushedAfter(socket: TestSocket, chat: Chat, from: number): Promise<Message[]> {
  const isPush = (f: Record<string, unknown>) => f.type === "message" && f.chatId === chat.id;
  const after = (f: Record<string, unknown>) => isPush(f) && (f.seq as number) > from;
  if (chat.last > from) await socket.collect(after, chat.last - from);
  const seqs = socket.frames.filter(after).map((f) => f.seq as number);
  expect(
    seqs.sort((a, b) => a - b),
    "each entry pushed once",
  ).toEqual(Array.from({ length: chat.last - from }, (_, i) => from + i + 1));
  return socket.frames.filter(after).map((f) => {
    const { type: _type, ...m } = f as unknown as Message & { type: string };
    return { ...m, ts: m.ts - (chat.aged.get(m.seq) ?? 0) };
  });
}

describe("the shared message view against the server", () => {
  it(`${RUNS} random runs: any snapshot plus what came after it gives the rows a fresh page shows`, async () => {
    const seed = Date.now();
    const property = fc.asyncProperty(
      fc.boolean(),
      // The first op sends a message, so that most changes have one to name.
      fc.tuple(
        fc.record({ op: fc.constant("send" as const), by }),
        fc.array(op, { minLength: 9, maxLength: MAX_OPS - 1, size: "max" }),
      ),
      fc.integer({ min: 1, max: 8 }),
      fc.integer(),
      async (group, [first, more], limit, shuffleSeed) => {
        const ops: Op[] = [first, ...more];
        const members = group ? await users("vs-admin", "vs-ann", "vs-ben") : await users("vs-al", "vs-bo");
        const [admin, ...rest] = members;
        const chatId = group
          ? await createGroup(
              admin as User,
              "view sync",
              rest.map((u) => u.id),
            )
          : await openDirect(admin as User, rest[0] as User);
        const chat = new Chat(chatId, [...members], group);
        const reader = admin as User;
        const initial = await pagedLog(reader, chatId, limit);
        for (const m of initial) chat.stored(m.seq, { readable: m.kind === "text", sender: -1, deleted: false });
        const live = (await connect(reader.token, "view-sync")).socket;
        try {
          const snapshots = [
            { x: 0, rows: [] as Message[] },
            { x: chat.last, rows: initial },
          ];
          for (const o of ops) {
            if (o.op === "snapshot") snapshots.push({ x: chat.last, rows: await pagedLog(reader, chatId, limit) });
            else await run(chat, o);
          }
          const now = await pagedLog(reader, chatId, limit);
          expect(now.map((m) => m.seq)).toEqual(Array.from({ length: chat.last }, (_, i) => i + 1));
          const pushed = await pushedAfter(live, chat, initial.length);

          for (const { x, rows } of snapshots) {
            const at = `snapshot at ${x}`;
            expect(viewOf(rows).rows(), `${at}: the snapshot applied to an empty device`).toStrictEqual(rows);

            const pages = await pagesAfter(reader, chatId, x, limit);
            const paged = viewOf(rows);
            for (const page of pages) paged.apply(...page);
            expect(paged.rows(), `${at}: then the pages after it`).toStrictEqual(now);

            const entries = pages.flat();
            const oneByOne = viewOf(rows);
            for (const m of entries) oneByOne.apply(m);
            expect(oneByOne.rows(), `${at}: then its entries one by one`).toStrictEqual(now);

            const pushes = pushed.filter((m) => m.seq > x);
            if (x >= initial.length) {
              const pushedTo = viewOf(rows);
              for (const m of [...pushes].sort((a, b) => a.seq - b.seq)) pushedTo.apply(m);
              expect(pushedTo.rows(), `${at}: then the frames pushed live`).toStrictEqual(now);
            }

            const any = new MessageView();
            for (const m of shuffled([...rows, ...entries, ...pushes, ...entries], shuffleSeed + x)) any.apply(m);
            expect(any.rows(), `${at}: all of it shuffled, twice over`).toStrictEqual(now);
          }
        } finally {
          live.close();
        }
      },
    );
    await fc.assert(property, { numRuns: RUNS, seed, interruptAfterTimeLimit: 100_000 });
  }, 120_000);
});
