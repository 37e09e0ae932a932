/**
 * The file of an attachment message: a photo inline (scaled to fit; a click shows it full size),
 * any other file (and a very large photo, not fetched unasked) as a button with its name and size that downloads it. Both load through
 * `FileAccess` (blob URLs); a file that cannot be loaded says so in place.
 */
import type { AttachmentInfo } from "../../client";
import { h } from "./dom";
import type { FileAccess } from "./file-access";
import { humanSize, showsInline } from "./files";

/** What the file of a message needs from the page. */
export interface AttachmentHooks {
  files: FileAccess;
  /** Shows a photo full size. */
  open(src: string, name: string): void;
  /** A photo finished loading: the list grew. */
  photoLoaded(): void;
  /** A download failed: say so. */
  failed(text: string): void;
}

export function attachmentNode(chatId: string, file: AttachmentInfo, hooks: AttachmentHooks): HTMLElement {
  return showsInline(file) ? photoNode(chatId, file, hooks) : fileNode(chatId, file, hooks);
}

function photoNode(chatId: string, file: AttachmentInfo, hooks: AttachmentHooks): HTMLElement {
  const img = h("img", { class: "photo", alt: file.name, "data-attachment-id": file.id });
  const open = h(
    "button",
    { type: "button", class: "photo-open", "aria-label": `Show ${file.name} full size`, disabled: true },
    img,
  );
  const box = h("div", { class: "attachment photo-box loading" }, open);
  img.addEventListener("load", () => {
    box.classList.remove("loading");
    open.disabled = false;
    hooks.photoLoaded();
  });
  img.addEventListener("error", () => box.replaceChildren(unavailable(file)));
  open.addEventListener("click", () => hooks.open(img.src, file.name));
  const cached = hooks.files.cachedUrl(chatId, file.id);
  if (cached) img.src = cached;
  else
    hooks.files.url(chatId, file.id).then(
      (url) => {
        img.src = url;
      },
      () => box.replaceChildren(unavailable(file)),
    );
  return box;
}

function fileNode(chatId: string, file: AttachmentInfo, hooks: AttachmentHooks): HTMLElement {
  const size = humanSize(file.size);
  const button = h(
    "button",
    {
      type: "button",
      class: "file-link",
      "data-attachment-id": file.id,
      "aria-label": `Download ${file.name}, ${size}`,
    },
    h("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
    h("span", { class: "file-name" }, file.name),
    h("span", { class: "file-size", "aria-hidden": "true" }, ` · ${size}`),
  );
  button.addEventListener("click", () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    hooks.files
      .save(chatId, file)
      .catch((err: unknown) => hooks.failed(`Could not download ${file.name}: ${errorText(err)}`))
      .finally(() => {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
  });
  return h("div", { class: "attachment" }, button);
}

function unavailable(file: AttachmentInfo): HTMLElement {
  return h("p", { class: "attachment unavailable muted" }, `${file.name} could not be loaded.`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
