/**
 * `sendFile`: the file is checked here (size, type, first bytes), uploaded once over HTTP, then
 * its message goes through the outbox like a text. The same clientMsgId while the first call is
 * uploading or queued joins it.
 */
import { DEFAULT_ATTACHMENT_TYPES, DEFAULT_MAX_ATTACHMENT_BYTES } from "../protocol/attachments";
import { ProtocolError } from "../protocol/errors";
import type { SendFileOptions, SendOptions } from "./client-options";
import { checkFile, type FileBody, type FileLimits } from "./file-checks";
import { type ChatApi, ChatApiError } from "./http";
import { newClientMsgId } from "./ids";
import type { Outbox, OutboxEntry, SendResult } from "./outbox";
import { PLACEHOLDER_ATTACHMENT, problemOf } from "./send-frames";

type Submit = (send: Omit<OutboxEntry, "clientMsgId">, options: SendOptions) => Promise<SendResult>;

export class FileSends {
  private readonly limits: FileLimits;
  /** Files being uploaded, by chat and clientMsgId: a second call joins the first. */
  private readonly uploading = new Map<string, Promise<SendResult>>();

  constructor(
    private readonly api: ChatApi,
    private readonly outbox: Outbox,
    private readonly submit: Submit,
    limits: { maxAttachmentBytes?: number; attachmentTypes?: readonly string[] },
  ) {
    this.limits = {
      maxBytes: limits.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES,
      types: new Set(limits.attachmentTypes ?? DEFAULT_ATTACHMENT_TYPES),
    };
  }

  send(chatId: string, file: FileBody, options: SendFileOptions): Promise<SendResult> {
    const clientMsgId = options.clientMsgId ?? newClientMsgId();
    const key = `${chatId}\n${clientMsgId}`;
    const queued = this.outbox.get(chatId, clientMsgId);
    if (queued) return this.outbox.add(queued);
    let sending = this.uploading.get(key);
    if (!sending) {
      sending = this.uploadAndSend(chatId, file, { ...options, clientMsgId });
      this.uploading.set(key, sending);
      const done = () => this.uploading.delete(key);
      sending.then(done, done);
    }
    return sending;
  }

  /** Checks the message and the file, uploads the file once, then sends the message naming it. */
  private async uploadAndSend(
    chatId: string,
    file: FileBody,
    options: SendFileOptions & { clientMsgId: string },
  ): Promise<SendResult> {
    const { clientMsgId, caption = "", replyTo } = options;
    const message: Omit<OutboxEntry, "attachment"> = { chatId, clientMsgId, body: caption, kind: "attachment" };
    if (replyTo !== undefined) message.replyTo = replyTo;
    // The message is checked before the upload: a caption too long must not cost an upload.
    const problem = problemOf({ ...message, attachment: PLACEHOLDER_ATTACHMENT });
    if (problem) throw problem;
    const checked = await checkFile(file, options, this.limits);
    let attachment: OutboxEntry["attachment"];
    try {
      attachment = await this.api.uploadAttachment(chatId, checked.blob, {
        name: checked.name,
        contentType: checked.contentType,
        onProgress: options.onProgress,
      });
    } catch (err) {
      if (err instanceof ChatApiError && err.code !== "network") throw new ProtocolError(err.code, err.message);
      throw err;
    }
    return this.submit({ ...message, attachment }, { clientMsgId });
  }
}
