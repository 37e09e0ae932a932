/** A photo at full size in a modal dialog: the close button, Escape or a click beside the photo closes it. */
import { byId } from "./dom";

export function openLightbox(src: string, name: string): void {
  const dialog = byId<HTMLDialogElement>("lightbox");
  const img = byId<HTMLImageElement>("lightbox-img");
  img.src = src;
  img.alt = name;
  byId("lightbox-name").textContent = name;
  dialog.setAttribute("aria-label", name);
  if (!dialog.open) dialog.showModal();
}

/** Wires the close button and the click on the backdrop (once, at start). */
export function setUpLightbox(): void {
  const dialog = byId<HTMLDialogElement>("lightbox");
  byId("lightbox-close").addEventListener("click", () => dialog.close());
  // A click on the dialog itself, not on what is in it, is a click on the backdrop.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => byId<HTMLImageElement>("lightbox-img").removeAttribute("src"));
}
