/** Error codes shared by HTTP error bodies and `error` frames. */
export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "too_large",
  "rate_limited",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
};

/** An error meant for the client: its code and message are safe to show. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code];
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The `rate_limited` answer to a send, over HTTP and over a socket. */
export const RATE_LIMITED_MESSAGE = "sending too fast; resend this message later";
