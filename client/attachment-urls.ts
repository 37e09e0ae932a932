/**
 * `blob:` URLs of chat files. Browsers cannot put a bearer token on an `<img src>`, and a token
 * in a URL ends up in logs and histories; so a file is fetched with the `Authorization` header
 * and shown from a `blob:` URL of its bytes. One URL per file, made once and kept until revoked.
 */
export class AttachmentUrls {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(private readonly download: (chatId: string, id: string) => Promise<Blob>) {}

  /** The file's `blob:` URL: downloaded on the first call, the same URL after (a failure is not kept). */
  get(chatId: string, id: string): Promise<string> {
    const key = `${chatId}\n${id}`;
    let url = this.urls.get(key);
    if (!url) {
      url = this.download(chatId, id).then((blob) => URL.createObjectURL(blob));
      this.urls.set(key, url);
      url.catch(() => {
        if (this.urls.get(key) === url) this.urls.delete(key);
      });
    }
    return url;
  }

  /** Frees every URL handed out (their bytes too); the next `get` downloads again. */
  revokeAll(): void {
    const urls = [...this.urls.values()];
    this.urls.clear();
    for (const url of urls) url.then((u) => URL.revokeObjectURL(u)).catch(() => undefined);
  }
}
