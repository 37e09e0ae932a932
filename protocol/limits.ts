/** Limits of the protocol that clients can rely on. Settings that operators may change live in `Env`. */
export const MAX_BODY_BYTES = 65_536;
export const MAX_FRAME_BYTES = 128 * 1024;
export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 500;
export const PRESENCE_TIMEOUT_MS = 60_000;
export const PING_INTERVAL_MS = 30_000;
export const MAX_TITLE_LENGTH = 128;
export const DEFAULT_MAX_GROUP_MEMBERS = 1024;
/** The most members any deployment may allow (`MAX_GROUP_MEMBERS` above this is capped to it). */
export const MAX_GROUP_MEMBERS_CAP = 10_000;
/** A `created` system message lists at most this many members; `memberCount` tells how many there are. */
export const MAX_LISTED_MEMBERS = 256;
