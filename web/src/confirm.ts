/** The "delete for everyone?" question, as a modal dialog (Escape or Cancel says no). */
import { byId } from "./dom";

export function confirmDelete(): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>("confirm-delete");
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.showModal();
  });
}
