/**
 * The user object's stores in its SQLite, each made on first use: a wake from hibernation
 * builds only what its event needs (a `ping` RPC or a mute builds no inbox), and an object
 * that never wakes builds nothing. The database itself is migrated when the object starts.
 */
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { VapidKey } from "../push/vapid";
import type { Settings } from "../settings";
import { Blocks } from "./blocks";
import { BucketStore } from "./bucket-store";
import { Inbox } from "./inbox";
import { Presence } from "./presence";
import type { PresenceHost } from "./presence-service";
import { Privacy } from "./privacy";
import { Pushes } from "./pushes";
import type { TokenBucket } from "./rate-limit";
import type * as schema from "./schema";
import { stateOf } from "./sockets";

const PUSH_TIMEOUT_MS = 10_000;

export interface StoresHost {
  readonly ctx: DurableObjectState;
  readonly env: Env;
  readonly db: DrizzleSqliteDODatabase<typeof schema>;
  readonly settings: Settings;
  /** The send bucket, continued from its stored level before its first use. */
  readonly sendLimit: TokenBucket;
  /** Upgrades waiting for their chats to resume. */
  connecting(): number;
  /** Has the object's alarm run at `time`, unless it is set to run sooner. */
  wakeAt(time: number): void;
  /** The server's VAPID key, or null when push is not configured. */
  vapidKey(): Promise<VapidKey | null>;
}

export class UserStores implements PresenceHost {
  /** The last run may have stopped with deferred inbox writes lost: the next connect asks every chat. */
  suspect = false;
  /** Sockets that survive a wake mean the object hibernated, which it does only after its flush. */
  private readonly woke: boolean;
  private made: {
    inbox?: Inbox;
    presence?: Presence;
    blocks?: Blocks;
    privacy?: Privacy;
    bucketStore?: BucketStore;
    pushes?: Pushes;
  } = {};

  constructor(private readonly host: StoresHost) {
    this.woke = host.ctx.getWebSockets().length > 0;
  }

  get ctx(): DurableObjectState {
    return this.host.ctx;
  }

  get env(): Env {
    return this.host.env;
  }

  get inbox(): Inbox {
    if (this.made.inbox) return this.made.inbox;
    const inbox = new Inbox(this.host.db, this.host.settings.inboxFlushMs);
    this.suspect = inbox.wasLive && !this.woke;
    this.made.inbox = inbox;
    return inbox;
  }

  get presence(): Presence {
    this.made.presence ??= new Presence(this.host.ctx, this.host.db);
    return this.made.presence;
  }

  get blocks(): Blocks {
    this.made.blocks ??= new Blocks(this.host.db);
    return this.made.blocks;
  }

  get privacy(): Privacy {
    this.made.privacy ??= new Privacy(this.host.db);
    return this.made.privacy;
  }

  /** Keeps the send bucket across restarts; made (and the bucket restored) before the first send. */
  get bucketStore(): BucketStore {
    if (this.made.bucketStore) return this.made.bucketStore;
    const store = new BucketStore(this.host.db, this.host.sendLimit);
    store.load();
    this.made.bucketStore = store;
    return store;
  }

  /** Web Push subscriptions, mutes and pushes waiting to go. */
  get pushes(): Pushes {
    this.made.pushes ??= this.newPushes();
    return this.made.pushes;
  }

  connecting(): number {
    return this.host.connecting();
  }

  wakeAt(time: number): void {
    this.host.wakeAt(time);
  }

  private newPushes(): Pushes {
    const { ctx, db, settings } = this.host;
    return new Pushes(
      {
        db,
        connectedDevices: () => new Set(ctx.getWebSockets().map((ws) => stateOf(ws)?.deviceId ?? "")),
        wakeAt: (time) => this.host.wakeAt(time),
        blocked: (userId) => this.blocks.has(userId),
        vapidKey: () => this.host.vapidKey(),
      },
      {
        allowHttp: settings.pushAllowHttp,
        ttlSeconds: settings.pushTtlSeconds,
        timeoutMs: PUSH_TIMEOUT_MS,
        maxDevices: settings.maxSocketsPerUser,
      },
    );
  }
}
