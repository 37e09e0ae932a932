/**
 * The composer: a new message, a reply (the quoted message shown above the box, with a cancel
 * button) or an edit of an own message (the box holds its text). Enter sends or saves,
 * Shift+Enter adds a line, Escape cancels a reply or an edit. A file sent takes the box's text
 * as its caption (and the reply, if one was being written).
 */
import { byId } from "./dom";
import { snippet } from "./format";

export type ComposerMode =
  | { kind: "new" }
  | { kind: "reply"; seq: number }
  | { kind: "edit"; seq: number; original: string };

const MAX_HEIGHT = 160;

export class Composer {
  readonly input = byId<HTMLTextAreaElement>("composer-input");
  private readonly form = byId<HTMLFormElement>("composer");
  private readonly bar = byId("composer-context");
  private readonly label = byId("composer-context-label");
  private readonly quote = byId("composer-context-text");
  private readonly cancelButton = byId<HTMLButtonElement>("composer-cancel");
  private readonly submitButton = byId<HTMLButtonElement>("composer-submit");
  private current: ComposerMode = { kind: "new" };
  /** What was in the box before an edit filled it, put back when the edit ends. */
  private draft = "";

  constructor(onSubmit: (mode: ComposerMode, body: string) => void) {
    this.input.addEventListener("input", () => this.fit());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      } else if (event.key === "Escape" && this.current.kind !== "new") {
        event.preventDefault();
        this.cancel();
      }
    });
    this.cancelButton.addEventListener("click", () => {
      this.cancel();
      this.input.focus();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = this.input.value.trim();
      if (body === "") return;
      const mode = this.current;
      if (mode.kind === "edit") this.end();
      else {
        this.input.value = "";
        this.fit();
        this.setMode({ kind: "new" }, "", "");
      }
      onSubmit(mode, body);
    });
  }

  get mode(): ComposerMode {
    return this.current;
  }

  /** Quotes message `seq` (by `who`, starting with `text`) in the next message sent. */
  reply(seq: number, who: string, text: string): void {
    if (this.current.kind === "edit") this.end();
    this.setMode({ kind: "reply", seq }, `Replying to ${who}`, text);
    this.input.focus();
  }

  /** Fills the box with the text of own message `seq`; Enter saves it. */
  edit(seq: number, body: string): void {
    if (this.current.kind !== "edit") this.draft = this.input.value;
    this.setMode({ kind: "edit", seq, original: body }, "Editing your message", snippet(body));
    this.input.value = body;
    this.fit();
    this.input.focus();
    this.input.setSelectionRange(body.length, body.length);
  }

  /** Takes the box's text (and the reply being written) for a file's caption, and empties the box. */
  takeCaption(): { caption: string; replyTo?: number } {
    const caption = this.input.value.trim();
    const mode = this.current;
    this.input.value = "";
    this.fit();
    this.setMode({ kind: "new" }, "", "");
    return mode.kind === "reply" ? { caption, replyTo: mode.seq } : { caption };
  }

  /** Drops a reply or an edit (an edit's text gives way to the draft from before it). */
  cancel(): void {
    if (this.current.kind === "edit") this.end();
    else this.setMode({ kind: "new" }, "", "");
  }

  /** The message a reply or edit names was deleted: the reply or edit can no longer be sent. */
  targetGone(seq: number): void {
    if (this.current.kind !== "new" && this.current.seq === seq) this.cancel();
  }

  private end(): void {
    this.input.value = this.draft;
    this.draft = "";
    this.fit();
    this.setMode({ kind: "new" }, "", "");
  }

  private setMode(mode: ComposerMode, label: string, text: string): void {
    this.current = mode;
    this.bar.hidden = mode.kind === "new";
    this.bar.dataset.mode = mode.kind;
    this.label.textContent = label;
    this.quote.textContent = text;
    const cancel = mode.kind === "edit" ? "Cancel edit" : "Cancel reply";
    this.cancelButton.setAttribute("aria-label", cancel);
    this.cancelButton.title = `${cancel} (Escape)`;
    this.submitButton.textContent = mode.kind === "edit" ? "Save" : "Send";
  }

  private fit(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT)}px`;
  }
}
