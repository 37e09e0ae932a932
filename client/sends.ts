/**
 * Sends on the wire: each outbox entry goes out once per connection as a `send` frame with an
 * id, and its `ack` or `error` answers it. Retryable refusals put it back for a later try.
 */
import { ProtocolError } from "../protocol/errors";
import type { ClientFrame, ServerFrame } from "../protocol/frames";
import { newClientMsgId } from "./ids";
import type { Outbox, OutboxEntry, SendResult } from "./outbox";
import { problemOf, sendFrameOf } from "./send-frames";

export interface SendsHost {
  live(): boolean;
  /** The current connection's number. */
  current(): number;
  send(frame: ClientFrame): boolean;
}

export class Sends {
  private nextId = 0;
  /** Sends awaiting an answer on the current connection, by frame id. */
  private requests = new Map<string, { chatId: string; clientMsgId: string }>();

  constructor(
    private readonly outbox: Outbox,
    private readonly host: SendsHost,
  ) {}

  /** Validates a send as the server will, then queues it in the outbox and sends it when live. */
  submit(send: Omit<OutboxEntry, "clientMsgId">, clientMsgId = newClientMsgId()): Promise<SendResult> {
    const entry: OutboxEntry = { ...send, clientMsgId };
    const problem = problemOf(entry);
    if (problem) return Promise.reject(problem);
    const result = this.outbox.add(entry);
    this.flush();
    return result;
  }

  /** A new connection: answers to the old one's sends will not come. */
  reset(): void {
    this.requests = new Map();
  }

  flush(): void {
    if (!this.host.live()) return;
    for (const entry of this.outbox.takeUnsent(this.host.current())) {
      const id = `s:${++this.nextId}`;
      const { chatId, clientMsgId } = entry;
      if (!this.host.send(sendFrameOf(entry, id))) {
        this.outbox.markUnsent(chatId, clientMsgId);
        return;
      }
      this.requests.set(id, { chatId, clientMsgId });
    }
  }

  /** An `ack`: the entry it answers (if this device still held it), now resolved. */
  acked(frame: Extract<ServerFrame, { type: "ack" }>): OutboxEntry | undefined {
    if (frame.id) this.requests.delete(frame.id);
    const { chatId, clientMsgId, seq, ts } = frame;
    const entry = this.outbox.get(chatId, clientMsgId);
    this.outbox.acked({ chatId, clientMsgId, seq, ts });
    return entry;
  }

  /** An `error` answering frame `id`: the send it refused, if one (`retry`: it goes again later). */
  refused(
    frame: Extract<ServerFrame, { type: "error" }>,
    retry: boolean,
  ): { chatId: string; clientMsgId: string } | undefined {
    const send = frame.id ? this.requests.get(frame.id) : undefined;
    if (!send || !frame.id) return undefined;
    this.requests.delete(frame.id);
    if (retry) this.outbox.markUnsent(send.chatId, send.clientMsgId);
    else this.outbox.failed(send.chatId, send.clientMsgId, new ProtocolError(frame.code, frame.message));
    return send;
  }
}
