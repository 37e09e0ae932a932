/**
 * The shared message view without a server: what edits, deletes and reactions do to the rows a
 * device holds, whatever the order and repeats in which pages and pushes bring them.
 */
import { describe, expect, it } from "vitest";
import type { Message } from "../../client";
import { MessageView, withReaction } from "../../client/message-view";

const CHAT = "g~view";

/** A log row as the server sends it: a text unless `fields` say otherwise. */
function row(seq: number, sender: string, fields: Partial<Message> = {}): Message {
  return {
    chatId: CHAT,
    seq,
    sender,
    clientMsgId: `c${seq}`,
    body: `text ${seq}`,
    ts: 1_000 + seq,
    kind: "text",
    ...fields,
  };
}
const edit = (seq: number, sender: string, target: number, body: string) =>
  row(seq, sender, { kind: "edit", target, body });
const del = (seq: number, sender: string, target: number) => row(seq, sender, { kind: "delete", target, body: "" });
const react = (seq: number, sender: string, target: number, body: string) =>
  row(seq, sender, { kind: "reaction", target, body });

function viewOf(...messages: Message[]): MessageView {
  const view = new MessageView();
  view.apply(...messages);
  return view;
}

describe("message view: edits", () => {
  it("shows the newest edit's text as edited, and keeps the edit entries as rows of their own", () => {
    const view = viewOf(row(1, "ann"), edit(2, "ann", 1, "fixed"), edit(3, "ann", 1, "fixed again"));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "fixed again", edited: true });
    expect(view.rows().map((m) => [m.seq, m.kind, m.body])).toEqual([
      [1, "text", "fixed again"],
      [2, "edit", "fixed"],
      [3, "edit", "fixed again"],
    ]);
  });

  it("an older edit that arrives after a newer one does not bring its text back", () => {
    const view = viewOf(row(1, "ann"), edit(3, "ann", 1, "newer"), edit(2, "ann", 1, "older"));
    expect(view.get(1)?.body).toBe("newer");
  });
});

describe("message view: delete for everyone", () => {
  it("erases the message, the text of every edit of it, its reactions and its attachment", () => {
    const attachment = { id: "a1", size: 3, contentType: "image/png", name: "x.png" };
    const view = viewOf(
      row(1, "ann", { body: "secret", attachment }),
      edit(2, "ann", 1, "secret, edited"),
      react(3, "ben", 1, "👍"),
      row(4, "ben", { body: "quoting it", replyTo: 1 }),
    );
    view.apply(del(5, "ann", 1));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "", deleted: true });
    expect(view.get(2)).toEqual(edit(2, "ann", 1, ""));
    // The reaction entry keeps its own row; the reply keeps naming the message, shown deleted.
    expect(view.get(3)).toEqual(react(3, "ben", 1, "👍"));
    expect(view.get(4)?.replyTo).toBe(1);
    expect(JSON.stringify(view.rows())).not.toContain("secret");
  });

  it("an edit or reaction held after the delete changes nothing, and an edit's text arrives erased", () => {
    const view = viewOf(row(1, "ann"), del(2, "ann", 1), edit(3, "ann", 1, "too late"), react(4, "ben", 1, "👍"));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "", deleted: true });
    expect(view.get(3)?.body).toBe("");
  });

  it("a copy of the message from before the delete does not bring its text back", () => {
    const view = viewOf(row(1, "ann", { body: "secret" }), edit(2, "ann", 1, "secret 2"), del(3, "admin", 1));
    view.apply(row(1, "ann", { body: "secret 2", edited: true }), edit(2, "ann", 1, "secret 2"));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "", deleted: true });
    expect(view.get(2)?.body).toBe("");
    expect(JSON.stringify(view.rows())).not.toContain("secret");
    // A page showed it deleted; an older page's copy comes after, with no delete entry held.
    const paged = viewOf(row(1, "ann", { body: "", deleted: true }));
    paged.apply(row(1, "ann", { body: "secret" }));
    expect(paged.rows()).toEqual([{ ...row(1, "ann"), body: "", deleted: true }]);
  });
});

describe("message view: reactions", () => {
  it("one per user: a new one replaces the old, an empty one takes it back; users in the order they reacted", () => {
    const view = viewOf(row(1, "ann"), react(2, "ann", 1, "👍"), react(3, "ben", 1, "👍"), react(4, "cat", 1, "😂"));
    expect(view.get(1)?.reactions).toEqual({ "👍": ["ann", "ben"], "😂": ["cat"] });
    view.apply(react(5, "ann", 1, "❤️"));
    expect(view.get(1)?.reactions).toEqual({ "❤️": ["ann"], "👍": ["ben"], "😂": ["cat"] });
    // The same emoji again moves the user to the end, as the server orders by the newest entry.
    view.apply(react(6, "ann", 1, "👍"), react(7, "ben", 1, "👍"));
    expect(view.get(1)?.reactions).toEqual({ "👍": ["ann", "ben"], "😂": ["cat"] });
    view.apply(react(8, "ann", 1, ""), react(9, "ben", 1, ""), react(10, "dan", 1, ""));
    expect(view.get(1)?.reactions).toEqual({ "😂": ["cat"] });
    view.apply(react(11, "cat", 1, ""));
    expect(view.get(1)).toEqual(row(1, "ann"));
    expect(view.get(1)).not.toHaveProperty("reactions");
  });

  it("emoji keys come in JavaScript string order, whatever order they were added in", () => {
    const view = viewOf(row(1, "ann"), react(2, "ann", 1, "😂"), react(3, "ben", 1, "👍"), react(4, "cat", 1, "❤️"));
    expect(Object.keys(view.get(1)?.reactions ?? {})).toEqual(["❤️", "👍", "😂"].sort());
    expect(withReaction({ "😂": ["a"] }, "b", "#️⃣")).toEqual({ "#️⃣": ["b"], "😂": ["a"] });
  });
});

describe("message view: order of arrival", () => {
  it("changes whose message is not held wait for it, and apply when it comes", () => {
    const view = viewOf(react(3, "ben", 1, "👍"), edit(2, "ann", 1, "edited"));
    expect(view.get(1)).toBeUndefined();
    expect(view.rows().map((m) => m.seq)).toEqual([2, 3]);
    view.apply(row(1, "ann"));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "edited", edited: true, reactions: { "👍": ["ben"] } });
  });

  it("a delete whose message is not held still erases the edits of it that are", () => {
    const view = viewOf(edit(2, "ann", 1, "secret"), del(3, "ann", 1));
    expect(view.get(2)?.body).toBe("");
    view.apply(row(1, "ann", { body: "secret" }));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "", deleted: true });
  });

  it("a page's copy of a row that arrives after a change to it was pushed keeps the change", () => {
    // The page was read before the edit and the reaction: its copy shows neither.
    const view = viewOf(row(1, "ann"), edit(2, "ann", 1, "edited"), react(3, "ben", 1, "👍"));
    view.apply(row(1, "ann"));
    expect(view.get(1)).toEqual({ ...row(1, "ann"), body: "edited", edited: true, reactions: { "👍": ["ben"] } });
  });

  it("a page's copy that shows the changes already does not get them twice", () => {
    const view = viewOf(row(1, "ann"), react(2, "ann", 1, "👍"), react(3, "ben", 1, "👍"), edit(4, "ann", 1, "e"));
    const current = { ...row(1, "ann"), body: "e", edited: true as const, reactions: { "👍": ["ann", "ben"] } };
    view.apply(current);
    expect(view.get(1)).toEqual(current);
  });

  it("the same entries applied twice, late and out of order, change nothing", () => {
    const entries = [row(1, "ann"), react(2, "ann", 1, "👍"), react(3, "ben", 1, "👍"), edit(4, "ann", 1, "v1")];
    const once = viewOf(...entries, edit(5, "ann", 1, "v2"), del(6, "ann", 99));
    const twice = viewOf(...entries, edit(5, "ann", 1, "v2"), del(6, "ann", 99));
    for (const m of [...entries].reverse()) twice.apply(m, m);
    twice.apply(del(6, "ann", 99), react(2, "ann", 1, "👍"), edit(4, "ann", 1, "v1"));
    expect(twice.rows()).toEqual(once.rows());
    expect(twice.get(1)).toEqual({ ...row(1, "ann"), body: "v2", edited: true, reactions: { "👍": ["ann", "ben"] } });
  });

  it("rows are replaced, not changed in place: a row handed out before stays as it was", () => {
    const view = viewOf(row(1, "ann"));
    const before = view.get(1);
    view.apply(edit(2, "ann", 1, "edited"), react(3, "ben", 1, "👍"));
    expect(before).toEqual(row(1, "ann"));
    expect(view.get(1)).not.toBe(before);
  });
});

describe("message view: visible", () => {
  it("shows texts, attachments and system messages in seq order with their changes, not the change entries", () => {
    const view = viewOf(
      row(4, "ben", { body: "reply", replyTo: 2 }),
      row(1, "system", { kind: "system", body: '{"event":"created"}' }),
      row(2, "ann"),
      row(3, "ann", { kind: "attachment", body: "caption" }),
      edit(5, "ann", 2, "edited"),
      react(6, "ben", 3, "🎉"),
      del(7, "ben", 4),
    );
    expect(view.visible().map((m) => [m.seq, m.kind, m.body, m.edited, m.deleted, m.reactions])).toEqual([
      [1, "system", '{"event":"created"}', undefined, undefined, undefined],
      [2, "text", "edited", true, undefined, undefined],
      [3, "attachment", "caption", undefined, undefined, { "🎉": ["ben"] }],
      [4, "text", "", undefined, true, undefined],
    ]);
    expect(view.rows()).toHaveLength(7);
  });
});
