/** The options of `ChatClient`: its constructor's, and those of its sends. */
import type { BackoffOptions, SocketFactory } from "./connection";
import type { ChatStorage } from "./storage";
import type { UploadProgress } from "./upload";

export interface ChatClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8787` or `location.origin`. */
  baseUrl: string;
  /** The signed-in user; `ready` must name the same user. */
  userId: string;
  /** Stable per install: cursors and the outbox belong to it. */
  deviceId: string;
  /** Called before every (re)connect and HTTP call; answer a fresh, valid token. */
  getToken: () => Promise<string>;
  /** Where cursors, tick watermarks and the outbox are kept (default: memory; `webStorage(localStorage)` in browsers). */
  storage?: ChatStorage;
  /** Opens a WebSocket (default: the global WebSocket of browsers and Node 22). */
  createSocket?: SocketFactory;
  fetch?: typeof fetch;
  pingIntervalMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Messages per history page when catching up (at most 500). */
  historyPageSize?: number;
  /** The server's `MAX_ATTACHMENT_BYTES`, if not the default: `sendFile` refuses larger files itself. */
  maxAttachmentBytes?: number;
  /** The server's `ATTACHMENT_TYPES`, if not the default: `sendFile` refuses other types itself. */
  attachmentTypes?: readonly string[];
}

export interface SendOptions {
  /** Reuse one to send the same thing again idempotently (e.g. after a reload); new by default. */
  clientMsgId?: string;
}

export interface SendFileOptions extends SendOptions {
  /** The file's name as the chat shows it (the server keeps its last path segment, cleaned). */
  name: string;
  /** The media type; by default the Blob's own type, else one from the name's extension. */
  contentType?: string;
  /** The message's caption (default `""`). */
  caption?: string;
  /** The seq of a message the file replies to. */
  replyTo?: number;
  /**
   * Upload progress. Browsers report it as the bytes go (through `XMLHttpRequest`); Node's
   * `fetch` cannot, so there it is `{ loaded: 0 }` at the start and `{ loaded: total }` once the
   * server accepted the file. Either way it ends with `loaded === total` when the upload succeeded.
   */
  onProgress?: (progress: UploadProgress) => void;
}
