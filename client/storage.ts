/**
 * Where the SDK keeps what must outlive a page or process: per-chat cursors and the outbox.
 * The interface is the synchronous part of Web Storage, so `localStorage` fits as is; the
 * default keeps everything in memory.
 */
export interface ChatStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function memoryStorage(): ChatStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/**
 * Web Storage (e.g. `localStorage`) as chat storage. A full or unavailable store (quota,
 * private mode) degrades to memory for the writes it refuses, rather than failing sends.
 */
export function webStorage(store: Storage): ChatStorage {
  const fallback = memoryStorage();
  return {
    getItem(key) {
      try {
        return fallback.getItem(key) ?? store.getItem(key);
      } catch {
        return null;
      }
    },
    setItem(key, value) {
      try {
        store.setItem(key, value);
        fallback.removeItem(key);
      } catch {
        fallback.setItem(key, value);
      }
    },
    removeItem(key) {
      fallback.removeItem(key);
      try {
        store.removeItem(key);
      } catch {
        // Nothing to remove from a store we cannot reach.
      }
    },
  };
}

/** Reads a JSON value written by `writeJson`, or `fallback` when absent or unreadable. */
export function readJson<T>(storage: ChatStorage, key: string, fallback: T): T {
  const raw = storage.getItem(key);
  if (raw === null) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return fallback;
  }
}

export function writeJson(storage: ChatStorage, key: string, value: unknown): void {
  storage.setItem(key, JSON.stringify(value));
}
