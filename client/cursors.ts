/**
 * Per-chat cursors: the highest seq up to which this device holds every message of a chat
 * (contiguously). Persisted in the client's storage so a restart asks only for what it lacks.
 */
import { type ChatStorage, readJson, writeJson } from "./storage";

export class Cursors {
  private readonly seqs: Record<string, number>;

  constructor(
    private readonly storage: ChatStorage,
    private readonly key: string,
  ) {
    const stored = readJson<Record<string, unknown>>(storage, key, {});
    this.seqs = {};
    for (const [chatId, seq] of Object.entries(stored)) {
      if (typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0) this.seqs[chatId] = seq;
    }
  }

  /** The cursor of a chat; 0 when this device holds nothing of it yet. */
  get(chatId: string): number {
    return this.seqs[chatId] ?? 0;
  }

  /** Moves a cursor forward (never back) and persists it. */
  advance(chatId: string, seq: number): void {
    if (seq <= this.get(chatId)) return;
    this.seqs[chatId] = seq;
    writeJson(this.storage, this.key, this.seqs);
  }

  chats(): string[] {
    return Object.keys(this.seqs);
  }
}
