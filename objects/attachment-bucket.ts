/**
 * The R2 bucket a chat's files are kept in: the bucket of the jurisdiction its id names
 * (`ATTACHMENTS_EU`, `ATTACHMENTS_FEDRAMP`), or the default `ATTACHMENTS`. The Worker's upload
 * and download routes and the chat object's deletions both choose it here.
 */
import { type Jurisdiction, jurisdictionOf } from "../protocol";

/** The bindings the buckets come from. */
export type AttachmentBuckets = Pick<Env, "ATTACHMENTS" | "ATTACHMENTS_EU" | "ATTACHMENTS_FEDRAMP">;

const BUCKET_OF: Record<Jurisdiction, keyof AttachmentBuckets> = {
  eu: "ATTACHMENTS_EU",
  fedramp: "ATTACHMENTS_FEDRAMP",
};

export function attachmentBucket(env: AttachmentBuckets, chatId: string): R2Bucket {
  const jurisdiction = jurisdictionOf(chatId);
  return env[jurisdiction ? BUCKET_OF[jurisdiction] : "ATTACHMENTS"];
}
