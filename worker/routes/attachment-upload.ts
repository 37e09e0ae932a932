/**
 * Streams an upload into R2 without holding it. The first bytes are read and checked before
 * anything is stored (images and PDF must start with their signature); the rest passes through
 * a count that must end exactly at `Content-Length`, into a fixed-length stream R2 can store. A
 * body longer or shorter than it said aborts the put, so nothing is kept.
 */
import { errorFields, logEvent } from "../../objects/log-event";
import { type ErrorCode, SNIFF_BYTES, sniffMatches } from "../../protocol";

export type UploadResult = { ok: true } | { ok: false; code: ErrorCode; message: string };

export async function streamToBucket(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  size: number,
  contentType: string,
  requestId?: string,
): Promise<UploadResult> {
  const reader = body.getReader();
  const head: Uint8Array[] = [];
  let received = 0;
  while (received < Math.min(SNIFF_BYTES, size)) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    received += value.byteLength;
  }
  if (!sniffMatches(contentType, joined(head).subarray(0, SNIFF_BYTES))) {
    await reader.cancel().catch(() => {});
    return { ok: false, code: "bad_request", message: `the file's first bytes are not those of ${contentType}` };
  }
  let problem: UploadResult | null = null;
  const fail = (code: ErrorCode, message: string) => {
    problem ??= { ok: false, code, message };
    return new Error(message);
  };
  const counted = new ReadableStream<Uint8Array>({
    start(out) {
      for (const chunk of head) out.enqueue(chunk);
      if (received > size) out.error(fail("too_large", `the body is longer than its Content-Length (${size} bytes)`));
    },
    async pull(out) {
      const { done, value } = await reader.read();
      if (done) {
        if (received < size)
          out.error(fail("bad_request", `the body is shorter than its Content-Length (${size} bytes)`));
        else out.close();
        return;
      }
      received += value.byteLength;
      if (received > size) {
        out.error(fail("too_large", `the body is longer than its Content-Length (${size} bytes)`));
        await reader.cancel().catch(() => {});
        return;
      }
      out.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const fixed = new FixedLengthStream(size);
  const piping = counted.pipeTo(fixed.writable);
  const put = bucket.put(key, fixed.readable, { httpMetadata: { contentType } });
  const [piped, stored] = await Promise.allSettled([piping, put]);
  if (problem) return problem;
  if (piped.status === "rejected" || stored.status === "rejected") {
    const err = piped.status === "rejected" ? piped.reason : stored.status === "rejected" ? stored.reason : null;
    logEvent("error", "unexpected_error", {
      source: "Worker",
      requestId,
      during: "attachment upload",
      ...errorFields(err),
    });
    return { ok: false, code: "internal", message: "the file could not be stored; upload it again" };
  }
  return { ok: true };
}

function joined(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
