/** Variables that `wrangler types` cannot see: optional settings. */
interface Env {
  /** The jurisdiction new groups are kept in when their create request names none ("eu" or "fedramp"; unset: none). */
  DATA_JURISDICTION?: string;
  /** Most members a group may have (default 1024). */
  MAX_GROUP_MEMBERS?: string;
  /** Per-user sends per second, sustained (default 20), and the burst allowed (default 100). */
  SEND_RATE_PER_SECOND?: string;
  SEND_BURST?: string;
  /** Refused sends within 10 s after which a socket is closed with 1008 (default 1000). */
  FLOOD_CLOSE_AFTER?: string;
  /** Sockets one user may have open at once (default 10). */
  MAX_SOCKETS_PER_USER?: string;
  /** Milliseconds a user object may keep online members' inbox updates in memory before writing them (default 30000). */
  INBOX_FLUSH_MS?: string;
  /** Seconds after sending during which a sender may edit a message (default 900). */
  EDIT_WINDOW_S?: string;
  /** Seconds after sending during which a sender may delete a message for everyone (default 172800); group admins may always. */
  DELETE_WINDOW_S?: string;
  /** The largest file a member may upload, in bytes (default 104857600 = 100 MiB). */
  MAX_ATTACHMENT_BYTES?: string;
  /** Comma-separated media types a file may have (default: JPEG, PNG, GIF, WebP, PDF, plain text, MP3, Ogg audio, MP4). */
  ATTACHMENT_TYPES?: string;
  /** Seconds a push service keeps a push for an offline device (default 86400, at least 3600). */
  PUSH_TTL_S?: string;
  /**
   * Comma-separated exact origins whose pages may use the API: open a WebSocket (unset: every
   * origin may) and make cross-origin HTTP requests (CORS; unset: no origin may).
   */
  ALLOWED_ORIGINS?: string;
  /** During a rotation, the HS256 secret before `JWT_SECRET`: tokens signed with it still verify. */
  JWT_SECRET_PREVIOUS?: string;
  /** During a rotation, the VAPID private key before `VAPID_PRIVATE_KEY`, for subscriptions made with its public key. */
  VAPID_PRIVATE_KEY_PREVIOUS?: string;
  /** The secret `X-Health-Token` that `GET /health/deep` requires; unset, that route answers 404. */
  HEALTH_TOKEN?: string;
  /** The `period` of the edge rate limits in wrangler.toml (10 or 60, default 60): their `Retry-After`. */
  EDGE_LIMIT_PERIOD_S?: string;
  /** An identity provider's JWKS document, inline: its RS256 and ES256 keys verify tokens by `kid`. */
  JWT_JWKS?: string;
  /** Where that JWKS is fetched from (the provider's `jwks_uri`); cached 10 min, refetched at most once a minute. */
  JWT_JWKS_URL?: string;
  /** When set, RS256 and ES256 tokens must carry exactly this `iss`. */
  JWT_ISSUER?: string;
  /** When set, RS256 and ES256 tokens must carry this `aud` (alone or in an array). */
  JWT_AUDIENCE?: string;
}
