/**
 * Choosing files to send: the composer's attach button (a hidden file input behind it), and
 * files dragged from the desktop onto the open conversation, which shows where to drop them.
 */
import { byId } from "./dom";
import { ACCEPTED_TYPES } from "./files";

/** Calls `onFiles` with the files chosen or dropped, while `open()` says a chat is open. */
export function setUpFilePicker(open: () => boolean, onFiles: (files: File[]) => void): void {
  const input = byId<HTMLInputElement>("attach-input");
  input.accept = ACCEPTED_TYPES.join(",");
  byId("attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const files = [...(input.files ?? [])];
    // Cleared, so choosing the same file again (after an error) still counts as a change.
    input.value = "";
    if (files.length > 0) onFiles(files);
  });

  const zone = byId("conversation");
  const hint = byId("drop-hint");
  const carriesFiles = (event: DragEvent) => open() && (event.dataTransfer?.types.includes("Files") ?? false);
  // dragenter and dragleave fire for every child crossed: count them to know when the pointer left.
  let depth = 0;
  const leave = () => {
    depth = 0;
    hint.hidden = true;
  };
  zone.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    hint.hidden = false;
  });
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) hint.hidden = true;
  });
  zone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    leave();
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) onFiles(files);
  });
  // A file dropped anywhere else must not make the browser leave the page to open it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => {
    event.preventDefault();
    leave();
  });
}
