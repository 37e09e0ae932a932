/**
 * edge-chat client SDK: a typed client for protocol v1, for browsers and Node 22.
 *
 *   const client = new ChatClient({ baseUrl, userId, deviceId, getToken });
 *   client.on("message", (m) => show(m));
 *   client.connect();
 *   await client.send(chatId, "hello");
 *   await client.sendFile(chatId, file, { name: file.name, caption: "the beach" });
 *   await client.enablePush(await navigator.serviceWorker.register("/sw.js"));
 *   await client.updateSettings({ lastSeen: "nobody", readReceipts: false });
 */
export { DEFAULT_ATTACHMENT_TYPES, DEFAULT_MAX_ATTACHMENT_BYTES } from "../protocol/attachments";
export type { MessageKind, SendableKind } from "../protocol/entries";
export { type ErrorCode, ProtocolError } from "../protocol/errors";
export type { AttachmentInfo, Message, ReceiptStatus } from "../protocol/frames";
export type { Role } from "../protocol/http";
export { type ChatType, chatTypeOf, directChatId, directChatMembers } from "../protocol/ids";
export { ChatClient, type ChatClientOptions, type SendFileOptions, type SendOptions } from "./chat-client";
export { backoffDelay, type SocketFactory, type SocketLike } from "./connection";
export type {
  ChatEvents,
  ClientErrorEvent,
  ConnectionState,
  StateEvent,
  TickEvent,
  TickStatus,
  Watermarks,
} from "./events";
export type { FileBody } from "./file-checks";
export { type HiddenRow, isHidden, type LogRow } from "./hidden-rows";
export {
  type ByteRange,
  ChatApi,
  ChatApiError,
  type ChatDetails,
  type ChatSummary,
  devToken,
  type HistoryMode,
  type HistoryPage,
  type Presence,
  type PrivacySettings,
  type PushSubscriptionJson,
  type Receipts,
  type SettingsPatch,
  type UploadOptions,
} from "./http";
export { newClientMsgId, newDeviceId } from "./ids";
export { changeRow, MessageView, type ViewRow, withReaction } from "./message-view";
export type { OutboxEntry, SendResult } from "./outbox";
export { type ChatStorage, memoryStorage, webStorage } from "./storage";
export type { UploadProgress } from "./upload";
