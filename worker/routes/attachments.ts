/**
 * Files in chats: `POST /v1/chats/:chatId/attachments?name=` streams the body into R2 (never
 * whole in memory), `GET /v1/chats/:chatId/attachments/:id` answers the bytes, with `Range`.
 * The chat object decides who may upload and download (members; an upload not yet sent, only
 * its uploader); this module checks the request and moves the bytes.
 */
import { Hono } from "hono";
import { attachmentBucket } from "../../objects/attachment-bucket";
import { settingsOf } from "../../objects/settings";
import { chatStub } from "../../objects/stubs";
import { attachmentIdSchema, chatIdSchema, cleanFileName, type ErrorCode, mediaType } from "../../protocol";
import { type AppContext, type AppEnv, errorResponse } from "../http";
import { contentDisposition, parseRange } from "./attachment-headers";
import { streamToBucket } from "./attachment-upload";

/**
 * Answers a refusal before the body was read: the body is cancelled first, or the client, still
 * sending it, would not see the answer until it had sent every byte.
 */
async function refuseUpload(c: AppContext, code: ErrorCode, message: string): Promise<Response> {
  await c.req.raw.body?.cancel().catch(() => {});
  return errorResponse(c, code, message);
}

export const attachmentRoutes = new Hono<AppEnv>()
  .post("/:chatId/attachments", async (c) => {
    const chatId = chatIdSchema.safeParse(c.req.param("chatId"));
    if (!chatId.success) return refuseUpload(c, "not_found", "no such chat");
    const settings = settingsOf(c.env);
    const declared = c.req.header("content-length");
    if (!declared || !/^\d{1,15}$/.test(declared))
      return refuseUpload(c, "bad_request", "Content-Length is required: the file's size in bytes");
    const size = Number(declared);
    if (size > settings.maxAttachmentBytes)
      return refuseUpload(c, "too_large", `a file may have at most ${settings.maxAttachmentBytes} bytes`);
    const body = c.req.raw.body;
    if (size === 0 || !body) return refuseUpload(c, "bad_request", "the file is empty");
    const contentType = mediaType(c.req.header("content-type"));
    if (!settings.attachmentTypes.has(contentType))
      return refuseUpload(c, "bad_request", `files of type '${contentType.slice(0, 100)}' are not accepted`);
    const name = cleanFileName(c.req.query("name") ?? "");
    const me = c.get("userId");
    const chat = chatStub(c.env, chatId.data);
    const reserved = await chat.reserveAttachment(chatId.data, me, { size, contentType, name });
    if (!reserved.ok) return refuseUpload(c, reserved.code, reserved.message);
    const { id, key } = reserved.value;
    const bucket = attachmentBucket(c.env, chatId.data);
    const stored = await streamToBucket(bucket, key, body, size, contentType, c.get("requestId"));
    await chat.attachmentUploaded(chatId.data, me, id, stored.ok);
    if (!stored.ok) return errorResponse(c, stored.code, stored.message);
    return c.json({ id, size, contentType, name }, 201);
  })
  .get("/:chatId/attachments/:id", async (c) => {
    const chatId = chatIdSchema.safeParse(c.req.param("chatId"));
    const id = attachmentIdSchema.safeParse(c.req.param("id"));
    if (!chatId.success || !id.success) return errorResponse(c, "not_found", "no such attachment");
    const found = await chatStub(c.env, chatId.data).attachmentFor(chatId.data, c.get("userId"), id.data);
    if (!found.ok) return errorResponse(c, found.code, found.message);
    const file = found.value;
    const range = parseRange(c.req.header("range"), file.size);
    if (range === "unsatisfiable") {
      return c.json({ error: { code: "bad_request", message: "the range is outside the file" } }, 416, {
        "Content-Range": `bytes */${file.size}`,
      });
    }
    const object = await attachmentBucket(c.env, chatId.data).get(
      file.key,
      range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : undefined,
    );
    if (!object) return errorResponse(c, "not_found", "no such attachment");
    const headers = new Headers({
      "Content-Type": file.contentType,
      "Content-Disposition": contentDisposition(file.name),
      "X-Content-Type-Options": "nosniff",
      // The bytes never change, but they stop being the caller's to see when it leaves the chat.
      "Cache-Control": "private, max-age=300",
      // Opened directly, a file must not run as a page of this origin.
      "Content-Security-Policy": "default-src 'none'; sandbox",
      "Accept-Ranges": "bytes",
      ETag: object.httpEtag,
    });
    if (!range) {
      headers.set("Content-Length", String(file.size));
      return new Response(object.body, { status: 200, headers });
    }
    headers.set("Content-Length", String(range.end - range.start + 1));
    headers.set("Content-Range", `bytes ${range.start}-${range.end}/${file.size}`);
    return new Response(object.body, { status: 206, headers });
  });
