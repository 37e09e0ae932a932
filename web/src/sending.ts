/**
 * What the composer sends: a new message, a reply, the new text of an own message, or files
 * (each one a message, the composer's text the first one's caption). Each shows as a pending
 * bubble until stored; a refusal says why on the bubble and in the error line.
 */
import { ChatApiError, type ChatClient, newClientMsgId, ProtocolError } from "../../client";
import type { Composer, ComposerMode } from "./composer";
import type { Conversation } from "./conversation";
import { refusal, typeOf } from "./files";
import { peerOf } from "./format";
import type { ChatItem, PendingSend } from "./state";

export function describe(err: unknown): string {
  if (err instanceof ChatApiError && err.code === "network") return "the server cannot be reached";
  return err instanceof Error ? err.message : String(err);
}

export class Sending {
  constructor(
    private readonly me: string,
    private readonly client: ChatClient,
    private readonly conv: Conversation,
    private readonly composer: Composer,
    /** Called before anything is sent: the typing notice ends. */
    private readonly stopTyping: () => void,
  ) {}

  /** Says on the page why an action on the chat's messages failed (the open chat only). */
  failed(chatId: string, what: string, err: unknown): void {
    if (this.conv.current?.chatId !== chatId) return;
    // A peer who blocked this user refuses its messages: say so in words, not as an error code.
    const peer = peerOf(chatId, this.me);
    if (err instanceof ProtocolError && err.code === "forbidden" && peer)
      this.conv.showError(`Could not ${what}: ${peer} does not take your messages.`);
    else this.conv.showError(`Could not ${what}: ${describe(err)}`);
  }

  /** Enter in the composer: a new message, a reply, or the new text of an own message. */
  submit(mode: ComposerMode, body: string): void {
    const chat = this.conv.current;
    if (!chat) return;
    this.stopTyping();
    this.conv.showError("");
    if (mode.kind === "edit") {
      if (body === mode.original) return;
      this.client
        .edit(chat.chatId, mode.seq, body)
        .catch((err: unknown) => this.failed(chat.chatId, "save the edit", err));
      return;
    }
    const pending: PendingSend = { clientMsgId: newClientMsgId(), body, ts: Date.now() };
    if (mode.kind === "reply") pending.replyTo = mode.seq;
    chat.pending.set(pending.clientMsgId, pending);
    this.conv.pendingAdded(pending);
    const options = { clientMsgId: pending.clientMsgId };
    const sent =
      mode.kind === "reply"
        ? this.client.reply(chat.chatId, mode.seq, body, options)
        : this.client.send(chat.chatId, body, options);
    sent.catch((err: unknown) => {
      pending.failed = `not sent: ${describe(err)}`;
      if (this.conv.current !== chat) return;
      this.conv.pendingFailed(pending);
      this.failed(chat.chatId, "send the message", err);
    });
  }

  /** Files chosen or dropped: each one a message; the composer's text is the first one's caption. */
  sendFiles(chosen: File[]): void {
    const chat = this.conv.current;
    if (!chat) return;
    if (this.composer.mode.kind === "edit") {
      this.conv.showError("Save or cancel the edit before you send a file.");
      return;
    }
    // One refused file sends none of them: the user picks again knowing why.
    const refused = chosen.map(refusal).find((why) => why !== null);
    if (refused) {
      this.conv.showError(refused);
      return;
    }
    this.stopTyping();
    this.conv.showError("");
    const { caption, replyTo } = this.composer.takeCaption();
    chosen.forEach((file, i) => {
      this.sendFile(chat, file, i === 0 ? caption : "", i === 0 ? replyTo : undefined);
    });
  }

  private sendFile(chat: ChatItem, file: File, caption: string, replyTo: number | undefined): void {
    const conv = this.conv;
    const contentType = typeOf(file);
    const pending: PendingSend = {
      clientMsgId: newClientMsgId(),
      body: caption,
      ts: Date.now(),
      file: { name: file.name, size: file.size, contentType },
      progress: 0,
    };
    if (replyTo !== undefined) pending.replyTo = replyTo;
    chat.pending.set(pending.clientMsgId, pending);
    conv.pendingAdded(pending);
    const onProgress = ({ loaded, total }: { loaded: number; total: number }) => {
      if (pending.progress === undefined) return;
      pending.progress = loaded >= total ? undefined : loaded / total;
      if (conv.current === chat) conv.pendingProgress(pending);
    };
    this.client
      .sendFile(chat.chatId, file, {
        name: file.name,
        contentType,
        caption,
        replyTo,
        clientMsgId: pending.clientMsgId,
        onProgress,
      })
      .catch((err: unknown) => {
        // Nothing stored to retry: the bubble goes, and the words say why.
        chat.pending.delete(pending.clientMsgId);
        if (conv.current !== chat) return;
        conv.pendingRemoved(pending);
        this.failed(chat.chatId, `send ${file.name}`, err);
      });
  }
}
