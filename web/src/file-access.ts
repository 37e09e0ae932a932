/**
 * The page's way to a chat's files: through the SDK, which fetches them with the token in the
 * `Authorization` header, so a file shows from a `blob:` URL and no token is ever in a URL.
 * Keeps the URLs already loaded, so a message drawn again shows its photo at once.
 */
import type { AttachmentInfo, ChatClient } from "../../client";

type FileClient = Pick<ChatClient, "attachmentUrl" | "download" | "revokeAttachmentUrls">;

/** How long a saved file's temporary URL lives: the browser has started the download by then. */
const SAVE_URL_MS = 60_000;

export class FileAccess {
  private readonly loaded = new Map<string, string>();

  constructor(private readonly client: FileClient) {}

  /** The file's `blob:` URL if it is loaded already. */
  cachedUrl(chatId: string, id: string): string | undefined {
    return this.loaded.get(`${chatId} ${id}`);
  }

  /** The file's `blob:` URL, loading it first when needed. */
  async url(chatId: string, id: string): Promise<string> {
    const url = await this.client.attachmentUrl(chatId, id);
    this.loaded.set(`${chatId} ${id}`, url);
    return url;
  }

  /** Downloads the file and hands it to the browser as a download under its name. */
  async save(chatId: string, file: AttachmentInfo): Promise<void> {
    const blob = await this.client.download(chatId, file.id);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = file.name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), SAVE_URL_MS);
  }

  /** Frees every loaded file (sign-out). */
  revokeAll(): void {
    this.client.revokeAttachmentUrls();
    this.loaded.clear();
  }
}
