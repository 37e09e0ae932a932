/**
 * The crash test's view of a row's state: what edits, deletes and reactions make of it (body,
 * edited, deleted, reactions), the rows a list of entries makes when applied in seq order by
 * the SDK's `MessageView` (the rules are not written a second time here), and a fingerprint of
 * a whole row for comparing logs.
 */
import { MessageView } from "../../client/message-view";
import type { Message } from "../../protocol";

/** `entries` applied in seq order, whatever order they come in. */
export function appliedInSeqOrder(entries: Message[]): MessageView {
  const view = new MessageView();
  view.apply(...[...entries].sort((a, b) => a.seq - b.seq));
  return view;
}

/** What changes make of a row: its body, whether it was edited or deleted, its reactions (emoji in string order). */
export function stateOf(m: Message): string {
  const reactions = Object.entries(m.reactions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    body: m.body,
    edited: m.edited === true,
    deleted: m.deleted === true,
    reactions,
  });
}

/** A row whole: where it is, who sent what, and its state. */
export function fingerprint(m: Message): string {
  return `${m.seq}/${m.sender}/${m.clientMsgId}/${m.kind}/${m.target ?? ""}/${m.ts}/${stateOf(m)}`;
}
