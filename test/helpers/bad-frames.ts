/**
 * fast-check generators of client frames that are invalid by construction: random JSON, wrong
 * types for each field of each frame type, missing fields, unknown keys (`__proto__` and
 * friends), deep nesting, huge strings, truncated JSON and binary frames. Each frame stays under
 * the frame size limit, so it must be answered with an `error` frame, never a close.
 */
import fc from "fast-check";
import { CLIENT_FRAME_TYPES, chatIdSchema, MAX_BODY_BYTES, MAX_FRAME_BYTES, userIdSchema } from "../../protocol";

/** A frame to send: JSON text built from entries (so keys may repeat or be `__proto__`), raw text, or bytes. */
export type BadFrame =
  | { kind: string; entries: [string, unknown][]; withId: boolean }
  | { kind: string; text: string }
  | { kind: string; bytes: Uint8Array };

type Entries = [string, unknown][];

const FIELDS: Record<string, string[]> = {
  send: ["type", "id", "chatId", "clientMsgId", "body"],
  received: ["type", "id", "chatId", "seq"],
  read: ["type", "id", "chatId", "seq"],
  history: ["type", "id", "chatId", "after", "before", "limit"],
  typing: ["type", "id", "chatId", "on"],
  watch: ["type", "id", "userIds"],
  ping: ["type", "id"],
};
const REQUIRED: Record<string, string[]> = {
  send: ["chatId", "clientMsgId", "body"],
  received: ["chatId", "seq"],
  read: ["chatId", "seq"],
  history: ["chatId"],
  typing: ["chatId", "on"],
  watch: ["userIds"],
};

/** Text as one JSON object, entries in order and verbatim (JSON.stringify would drop a `__proto__` key). */
export function objectText(entries: Entries): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
}

const anyJson = fc.jsonValue({ maxDepth: 3 });
const notString = anyJson.filter((v) => typeof v !== "string");
const notBool = anyJson.filter((v) => typeof v !== "boolean");
const notSeq = fc.oneof(
  anyJson.filter((v) => typeof v !== "number"),
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom(2 ** 53, 2 ** 60, 1e300, -0.5, 0.5),
  fc.nat().map(String),
);
const badChatId = fc
  .oneof(
    notString,
    fc.string({ maxLength: 150 }),
    fc.string({ minLength: 141, maxLength: 400 }),
    fc.constantFrom("d~", "d~~", "d~b~a", "D~a~b", "d~a~b~c", "g~", "g~ABCDEFGHIJKLMNOPQRST", "g~abc", "d~a b~c"),
  )
  .filter((v) => !chatIdSchema.safeParse(v).success);
const badClientMsgId = fc.oneof(notString, fc.constant(""), fc.string({ minLength: 65, maxLength: 300 }));
const badBody = fc.oneof(
  notString,
  fc.integer({ min: MAX_BODY_BYTES + 1, max: 100_000 }).map((n) => "b".repeat(n)),
  fc.integer({ min: MAX_BODY_BYTES / 2 + 1, max: 50_000 }).map((n) => "é".repeat(n)),
);
const badLimit = fc.oneof(notSeq, fc.constantFrom(0, -1));
const badUserIds = fc.oneof(
  anyJson.filter((v) => !Array.isArray(v)),
  fc
    .array(fc.oneof(notString, fc.string({ maxLength: 80 })), { minLength: 1, maxLength: 5 })
    .filter((ids) => ids.some((id) => !userIdSchema.safeParse(id).success)),
  fc.constant(Array.from({ length: 1025 }, (_, i) => `u${i}`)),
);
const badId = fc.oneof(notString, fc.string({ minLength: 65, maxLength: 200 }));

const WRONG: Record<string, fc.Arbitrary<unknown>> = {
  chatId: badChatId,
  clientMsgId: badClientMsgId,
  body: badBody,
  seq: notSeq,
  after: notSeq,
  before: notSeq,
  limit: badLimit,
  on: notBool,
  userIds: badUserIds,
  id: badId,
};

/** A valid frame of `type` for `chatId`, as entries. */
function validEntries(type: string, chatId: string, n: number): Entries {
  switch (type) {
    case "send":
      return [
        ["type", type],
        ["chatId", chatId],
        ["clientMsgId", `fuzz-${n}`],
        ["body", "hello"],
      ];
    case "received":
    case "read":
      return [
        ["type", type],
        ["chatId", chatId],
        ["seq", n],
      ];
    case "history":
      return [
        ["type", type],
        ["chatId", chatId],
        ["after", 0],
        ["limit", 10],
      ];
    case "typing":
      return [
        ["type", type],
        ["chatId", chatId],
        ["on", true],
      ];
    case "watch":
      return [
        ["type", type],
        ["userIds", ["someone"]],
      ];
    default:
      return [["type", type]];
  }
}

const frameType = fc.constantFrom(...CLIENT_FRAME_TYPES);
const strangeKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "Type", " type"),
  fc.string({ maxLength: 20 }),
);
const badTypeValue = fc.oneof(
  notString,
  fc.constantFrom("", "Send", "send ", "PING", "pong", "ack", "message", "error", "ready", "__proto__", "constructor"),
  fc.string({ maxLength: 40 }).filter((s) => !(CLIENT_FRAME_TYPES as readonly string[]).includes(s)),
);

/** Near-valid frames: one thing wrong with an otherwise valid frame of a real chat. */
function nearValid(chatId: string): fc.Arbitrary<BadFrame> {
  const wrongField = fc.tuple(frameType, fc.nat(), fc.boolean()).chain(([type, n, withId]) => {
    const fields = (FIELDS[type] ?? []).filter((f) => f !== "type");
    return fc.constantFrom(...fields).chain((field) =>
      (WRONG[field] ?? anyJson).map((value): BadFrame => {
        const entries = validEntries(type, chatId, n).filter(([k]) => k !== field);
        entries.push([field, value]);
        return { kind: `wrong ${type}.${field}`, entries, withId: withId && field !== "id" };
      }),
    );
  });
  const missing = fc
    .tuple(fc.constantFrom(...Object.keys(REQUIRED)), fc.nat(), fc.boolean())
    .chain(([type, n, withId]) =>
      fc.constantFrom(...(REQUIRED[type] ?? [])).map(
        (field): BadFrame => ({
          kind: `missing ${type}.${field}`,
          entries: validEntries(type, chatId, n).filter(([k]) => k !== field),
          withId,
        }),
      ),
    );
  const extraKey = fc
    .tuple(frameType, fc.nat(), strangeKey, anyJson, fc.boolean())
    .map(([type, n, key, value, withId]): BadFrame => {
      const allowed = FIELDS[type] ?? [];
      const k = allowed.includes(key) || key === "id" ? `${key}_` : key;
      return { kind: `extra key on ${type}`, entries: [...validEntries(type, chatId, n), [k, value]], withId };
    });
  const badType = fc.tuple(frameType, fc.nat(), badTypeValue, fc.boolean()).map(
    ([type, n, value, withId]): BadFrame => ({
      kind: "bad type",
      entries: [["type", value], ...validEntries(type, chatId, n).slice(1)],
      withId,
    }),
  );
  const duplicateType = fc.tuple(frameType, fc.nat(), fc.boolean()).map(
    ([type, n, withId]): BadFrame => ({
      kind: "type repeated",
      // JSON.parse keeps the last `type`: a ping carrying a send's fields.
      entries: [...validEntries(type === "ping" ? "send" : type, chatId, n), ["type", "ping"]],
      withId,
    }),
  );
  const afterAndBefore = fc.tuple(fc.nat(), fc.nat(), fc.boolean()).map(
    ([after, before, withId]): BadFrame => ({
      kind: "history after+before",
      entries: [
        ["type", "history"],
        ["chatId", chatId],
        ["after", after],
        ["before", before],
      ],
      withId,
    }),
  );
  const truncated = fc.tuple(frameType, fc.nat(), fc.nat()).map(([type, n, cut]): BadFrame => {
    const text = objectText(validEntries(type, chatId, n));
    return { kind: "truncated", text: text.slice(0, cut % text.length) };
  });
  return fc.oneof(
    { arbitrary: wrongField, weight: 6 },
    { arbitrary: missing, weight: 2 },
    { arbitrary: extraKey, weight: 3 },
    { arbitrary: badType, weight: 2 },
    { arbitrary: duplicateType, weight: 1 },
    { arbitrary: afterAndBefore, weight: 1 },
    { arbitrary: truncated, weight: 2 },
  );
}

function isFrameLike(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const type = (v as Record<string, unknown>).type;
  return typeof type === "string" && (CLIENT_FRAME_TYPES as readonly string[]).includes(type);
}

function parsesToFrameLike(text: string): boolean {
  try {
    return isFrameLike(JSON.parse(text));
  } catch {
    return false;
  }
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Everything else: random JSON and text, deep nesting, huge strings, binary frames. */
function wild(chatId: string): fc.Arbitrary<BadFrame> {
  const randomJson = fc
    .jsonValue()
    .filter((v) => !isFrameLike(v))
    .map((v): BadFrame => ({ kind: "random JSON", text: JSON.stringify(v) ?? "null" }));
  const randomText = fc
    .oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.string({ unit: "binary-ascii", maxLength: 200 }),
    )
    .filter((s) => !parsesToFrameLike(s))
    .map((text): BadFrame => ({ kind: "random text", text }));
  const deep = fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.nat(3)).map(([depth, shape]): BadFrame => {
    const texts = [
      nested(depth, "[", "]"),
      `{"type":"send","chatId":${JSON.stringify(chatId)},"clientMsgId":"deep","body":${nested(depth, "[", "]")}}`,
      `{"type":"watch","userIds":${nested(depth, "[", "]", '"x"')}}`,
      `{"type":"ping","x":${nested(depth, '{"a":', "}")}}`,
    ];
    return { kind: "deep nesting", text: texts[shape] ?? "[]" };
  });
  const huge = fc
    .tuple(fc.integer({ min: 70_000, max: MAX_FRAME_BYTES - 1_000 }), fc.nat(2))
    .map(([size, shape]): BadFrame => {
      const s = "h".repeat(size);
      const texts = [
        JSON.stringify(s),
        objectText([
          ["type", "send"],
          ["chatId", chatId],
          ["clientMsgId", s],
          ["body", "x"],
        ]),
        objectText([
          ["type", "history"],
          ["chatId", chatId],
          [s.slice(0, 1_000), s.slice(1_000)],
        ]),
      ];
      return { kind: "huge string", text: texts[shape] ?? s };
    });
  const binary = fc
    .oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc
        .constantFrom('{"type":"ping"}', objectText(validEntries("send", chatId, 1)))
        .map((t) => new TextEncoder().encode(t)),
    )
    .map((bytes): BadFrame => ({ kind: "binary", bytes }));
  return fc.oneof(
    { arbitrary: randomJson, weight: 20 },
    { arbitrary: randomText, weight: 10 },
    { arbitrary: deep, weight: 2 },
    { arbitrary: huge, weight: 1 },
    { arbitrary: binary, weight: 5 },
  );
}

export function badFrames(chatId: string): fc.Arbitrary<BadFrame> {
  return fc.oneof({ arbitrary: nearValid(chatId), weight: 3 }, { arbitrary: wild(chatId), weight: 1 });
}
