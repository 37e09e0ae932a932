/**
 * A chat's files: the record of each upload (who, what, how large, whether a message names it)
 * in the chat's SQLite, and the bytes' lifecycle in R2 under `chats/<chatId>/<id>`. The Worker
 * streams the bytes; this decides who may upload, send and download, and deletes the bytes of
 * uploads no message named within 24 hours and of messages deleted for everyone.
 */
import { and, asc, eq, inArray, lt } from "drizzle-orm";
import { type AttachmentInfo, newAttachmentId, UPLOAD_TTL_MS } from "../../protocol";
import { type AttachmentBuckets, attachmentBucket } from "../attachment-bucket";
import { errorFields, logEvent } from "../log-event";
import { type Outcome, ok, refuse } from "../outcome";
import type { ChatDb } from "./log";
import * as schema from "./schema";

/** Where an attachment's bytes are, and what to answer a download with. */
export interface StoredAttachment extends AttachmentInfo {
  key: string;
}

export function attachmentKey(chatId: string, id: string): string {
  return `chats/${chatId}/${id}`;
}

const a = schema.attachments;
const DELETE_BATCH = 90;
const NO_UPLOAD = (id: string) => refuse("not_found", `no upload ${id} of yours in this chat`);

export class ChatAttachments {
  constructor(
    private readonly db: ChatDb,
    /** The bucket is chosen per call by the chat id: the object learns its id only from its first call. */
    private readonly buckets: AttachmentBuckets,
    /** Has the chat's alarm run at `time` (or sooner). */
    private readonly wakeAt: (time: number) => void,
  ) {}

  /** Records an upload about to stream in; answers its id and R2 key. */
  reserve(chatId: string, uploader: string, file: Omit<AttachmentInfo, "id">): StoredAttachment {
    const id = newAttachmentId();
    const createdAt = Date.now();
    this.db
      .insert(a)
      .values({ id, uploader, ...file, createdAt, state: "uploading", stored: true })
      .run();
    this.wakeAt(createdAt + UPLOAD_TTL_MS);
    return { id, key: attachmentKey(chatId, id), ...file };
  }

  /** The Worker's word on an upload: stored in R2, or failed (nothing to keep). */
  async finished(chatId: string, uploader: string, id: string, stored: boolean): Promise<Outcome<null>> {
    const row = this.db.select().from(a).where(eq(a.id, id)).get();
    if (!row || row.uploader !== uploader || row.state !== "uploading") return NO_UPLOAD(id);
    if (stored) {
      this.db.update(a).set({ state: "uploaded" }).where(eq(a.id, id)).run();
      return ok(null);
    }
    this.db.update(a).set({ state: "gone" }).where(eq(a.id, id)).run();
    await this.deleteBytes(chatId, [id]);
    return ok(null);
  }

  /** Inside a send's transaction: what a message sending upload `id` of `sender` carries, or why it may not. */
  forSend(sender: string, id: string): Outcome<AttachmentInfo> {
    const row = this.db.select().from(a).where(eq(a.id, id)).get();
    if (!row || row.uploader !== sender || row.state === "gone") return NO_UPLOAD(id);
    if (row.state === "uploading") return refuse("bad_request", `upload ${id} has not finished`);
    if (row.state === "sent") return refuse("bad_request", `upload ${id} was sent already`);
    return ok({ id, size: row.size, contentType: row.contentType, name: row.name });
  }

  /** Inside the same transaction: message `seq` sent upload `id`. */
  sent(id: string, seq: number): void {
    this.db.update(a).set({ state: "sent", seq }).where(eq(a.id, id)).run();
  }

  /** Inside a delete's transaction: the deleted message's file goes, its name now, its bytes after the commit. */
  forget(id: string): void {
    this.db.update(a).set({ state: "gone", name: "" }).where(eq(a.id, id)).run();
  }

  /**
   * A download by `caller` (a member): a sent file whose message `sees` (history visibility), or
   * the caller's own upload not sent yet.
   */
  find(chatId: string, caller: string, id: string, sees: (seq: number) => boolean): Outcome<StoredAttachment> {
    const row = this.db.select().from(a).where(eq(a.id, id)).get();
    const sent = row?.state === "sent" && row.seq !== null && sees(row.seq);
    const visible = row && (sent || (row.state === "uploaded" && row.uploader === caller));
    if (!row || !visible) return refuse("not_found", "no such attachment");
    const { size, contentType, name } = row;
    return ok({ id, size, contentType, name, key: attachmentKey(chatId, id) });
  }

  /** Deletes the bytes of expired uploads and of deleted messages; answers when to look again. */
  async sweep(chatId: string, now = Date.now()): Promise<number | null> {
    this.db
      .update(a)
      .set({ state: "gone" })
      .where(and(inArray(a.state, ["uploading", "uploaded"]), lt(a.createdAt, now - UPLOAD_TTL_MS)))
      .run();
    const gone = this.db
      .select({ id: a.id })
      .from(a)
      .where(and(eq(a.state, "gone"), eq(a.stored, true)))
      .all()
      .map((r) => r.id);
    await this.deleteBytes(chatId, gone);
    const next = this.db
      .select({ createdAt: a.createdAt })
      .from(a)
      .where(inArray(a.state, ["uploading", "uploaded"]))
      .orderBy(asc(a.createdAt))
      .limit(1)
      .get();
    return next ? next.createdAt + UPLOAD_TTL_MS : null;
  }

  /** Deletes the bytes of `ids` from R2; those that fail stay marked for the alarm to retry. */
  async deleteBytes(chatId: string, ids: string[]): Promise<void> {
    // R2 deletes up to 1,000 keys a call; a statement binds at most 100 values.
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      const batch = ids.slice(i, i + DELETE_BATCH);
      try {
        await attachmentBucket(this.buckets, chatId).delete(batch.map((id) => attachmentKey(chatId, id)));
        this.db.update(a).set({ stored: false }).where(inArray(a.id, batch)).run();
      } catch (err) {
        const where = { source: "ChatObject", chatId, count: batch.length, during: "deleting attachments" } as const;
        logEvent("error", "unexpected_error", { ...where, ...errorFields(err) });
        this.wakeAt(Date.now() + 60_000);
      }
    }
  }
}
