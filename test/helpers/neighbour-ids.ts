/**
 * Chat ids an intruder might try: neighbours of real ids (flipped characters, case changes,
 * truncations, extensions, swapped halves), other users' direct ids, and random ids of every
 * shape. Deterministic for a given seed, so a failure can be replayed.
 */
import { directChatId, directChatMembers, newGroupChatId } from "../../protocol";

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~";

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: ArrayLike<T>): T {
  return items[Math.floor(rand() * items.length)] as T;
}

export function neighboursOf(id: string, rand: () => number, count: number): string[] {
  const out: string[] = [];
  const variants: (() => string)[] = [
    () => {
      const i = Math.floor(rand() * id.length);
      return id.slice(0, i) + pick(rand, ALPHABET) + id.slice(i + 1);
    },
    () => {
      const i = Math.floor(rand() * id.length);
      const c = id[i] ?? "";
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return id.slice(0, i) + flipped + id.slice(i + 1);
    },
    () => id.toUpperCase(),
    () => id.slice(0, 1 + Math.floor(rand() * (id.length - 1))),
    () => id + pick(rand, ALPHABET),
    () => {
      const pair = directChatMembers(id);
      return pair ? `d~${pair[1]}~${pair[0]}` : `${id.slice(0, 2)}${[...id.slice(2)].reverse().join("")}`;
    },
    () => id.replace(/^./, (c) => (c === "d" ? "g" : "d")),
    () => ` ${id}`,
  ];
  for (let i = 0; i < count; i++) out.push(pick(rand, variants)());
  return out;
}

function randomName(rand: () => number): string {
  const len = 1 + Math.floor(rand() * 12);
  let s = "";
  for (let i = 0; i < len; i++) s += pick(rand, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
  return s;
}

export function randomIds(rand: () => number, count: number): string[] {
  const out: string[] = [];
  const shapes: (() => string)[] = [
    () => newGroupChatId(),
    () => directChatId(randomName(rand), randomName(rand)),
    () => {
      const n = randomName(rand);
      return directChatId(n, n);
    },
    () => Array.from({ length: Math.floor(rand() * 40) }, () => pick(rand, ALPHABET)).join(""),
    () =>
      Array.from({ length: 1 + Math.floor(rand() * 20) }, () => String.fromCharCode(Math.floor(rand() * 0x3000))).join(
        "",
      ),
  ];
  for (let i = 0; i < count; i++) out.push(pick(rand, shapes)());
  return out;
}

/**
 * `total` ids for intruders to try: every real id and its neighbours, the direct ids of every pair
 * of `others`, and random ids; none names an intruder as a member (those are the intruder's own).
 */
export function intruderIds(
  realIds: string[],
  others: string[],
  intruders: string[],
  seed: number,
  total: number,
): string[] {
  const rand = prng(seed);
  const ids = new Set<string>();
  const add = (id: string) => {
    if (ids.size < total && id.length > 0 && !directChatMembers(id)?.some((m) => intruders.includes(m))) ids.add(id);
  };
  for (const id of realIds) add(id);
  for (const a of others) for (const b of others) add(directChatId(a, b));
  const perReal = Math.floor((total * 0.6) / realIds.length);
  for (const id of realIds) for (const n of neighboursOf(id, rand, perReal)) add(n);
  for (let i = 0; i < total * 10 && ids.size < total; i++) for (const r of randomIds(rand, 1)) add(r);
  return [...ids];
}
