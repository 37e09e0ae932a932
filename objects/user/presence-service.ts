/**
 * The user object's presence and privacy: who may see this user's presence, the watchers told
 * of its changes, the silence check that closes quiet sockets, and the privacy settings that
 * shape both. The object's RPC methods delegate here; `PresenceHost` is what it needs back.
 */
import { directChatId, type PrivacySettings } from "../../protocol";
import type { PresenceFrame } from "../contracts";
import { errorFields, logEvent } from "../log-event";
import { mapLimit } from "../map-limit";
import { type Outcome, ok, refuse } from "../outcome";
import { chatStub, userStub } from "../stubs";
import type { Blocks } from "./blocks";
import type { Inbox } from "./inbox";
import type { Presence } from "./presence";
import type { Privacy } from "./privacy";
import { sendRaw, stateOf } from "./sockets";

export interface PresenceHost {
  readonly ctx: DurableObjectState;
  readonly env: Env;
  readonly inbox: Inbox;
  readonly blocks: Blocks;
  readonly presence: Presence;
  readonly privacy: Privacy;
  /** Upgrades waiting for their chats to resume: the user counts as online meanwhile. */
  connecting(): number;
  /** Has the object's alarm run at `time`, unless it is set to run sooner. */
  wakeAt(time: number): void;
}

export class PresenceService {
  constructor(private readonly host: PresenceHost) {}

  /**
   * The presence of this user as `asker` may see it: only when they share a chat, which is
   * checked against this user's inbox (`askerChats` are the asker's active chats). With
   * `watch`, the asker is told of every later change.
   */
  presenceFor(userId: string, asker: string, askerChats: string[], watch: boolean): Outcome<PresenceFrame> {
    const { blocks, privacy, inbox, presence } = this.host;
    // A blocked user is told the same as someone who shares no chat: the block is not shown.
    const blocked = blocks.has(asker);
    const rule = privacy.get().lastSeen;
    const shares = rule === "everyone" || inbox.sharesAny(directChatId(userId, asker), askerChats);
    if (asker !== userId && (blocked || !shares)) {
      return refuse("forbidden", `you share no chat with ${userId}`);
    }
    if (watch && asker !== userId && presence.addWatcher(asker)) this.scheduleSilenceCheck();
    if (asker !== userId && rule === "nobody") return ok({ type: "presence", userId, online: false, lastSeen: null });
    return ok(presence.current(userId));
  }

  /** Asks `target`'s object for its presence on behalf of this user. */
  async presenceOf(userId: string, target: string, watch = false): Promise<Outcome<PresenceFrame>> {
    if (target === userId) return ok(this.host.presence.current(userId));
    const chats = this.host.inbox.all().map((r) => r.chatId);
    const answer = await userStub(this.host.env, target).presenceFor(target, userId, chats, watch);
    // Who hides its last seen sees no one's.
    if (answer.ok && this.host.privacy.get().lastSeen === "nobody") return ok({ ...answer.value, lastSeen: null });
    return answer;
  }

  privacySettings(): PrivacySettings {
    return this.host.privacy.get();
  }

  /** A change of read receipts is told to every direct chat of the user. */
  async updatePrivacy(userId: string, patch: Partial<PrivacySettings>): Promise<PrivacySettings> {
    const before = this.host.privacy.get();
    const after = this.host.privacy.set(patch);
    if (before.readReceipts !== after.readReceipts) {
      const direct = this.host.inbox.all().filter((r) => r.type === "direct");
      await mapLimit(direct, 16, async ({ chatId }) => {
        await chatStub(this.host.env, chatId).setReadReceipts(chatId, userId, after.readReceipts);
      });
    }
    if (before.lastSeen !== after.lastSeen) this.mayHaveChanged(userId);
    return after;
  }

  /** A watched user's presence changed; answers false when no device here watches it any more. */
  presenceChanged(frame: PresenceFrame): boolean {
    let watched = false;
    const hidden = this.host.privacy.get().lastSeen === "nobody";
    const text = JSON.stringify(hidden ? { ...frame, lastSeen: null } : frame);
    for (const ws of this.host.ctx.getWebSockets()) {
      if (!stateOf(ws)?.watching.includes(frame.userId)) continue;
      watched = true;
      sendRaw(ws, text);
    }
    return watched;
  }

  /** Whether a device is connected or connecting (`closing` sockets do not count). */
  online(closing: WebSocket[] = []): boolean {
    return this.host.connecting() > 0 || this.host.ctx.getWebSockets().some((ws) => !closing.includes(ws));
  }

  /** Stores lastSeen, tells watchers if online/offline changed, and schedules the silence check. */
  mayHaveChanged(userId: string, closing: WebSocket[] = []): void {
    const { presence, privacy } = this.host;
    const settled = presence.settle(userId, Date.now(), closing);
    // Who hides its presence shows watchers a user that is never online and never seen.
    const frame: PresenceFrame | null =
      settled && privacy.get().lastSeen === "nobody" ? { ...settled, online: false, lastSeen: null } : settled;
    const watchers = presence.watchers();
    // Only a watched user needs a timely check for silent sockets; anyone else's presence is
    // worked out when asked, so an unwatched object is left to hibernate undisturbed.
    if (watchers.length > 0) this.scheduleSilenceCheck(closing);
    if (!frame) return;
    for (const watcher of watchers) {
      void userStub(this.host.env, watcher)
        .presenceChanged(frame)
        .then((still) => {
          if (!still) presence.removeWatcher(watcher);
        })
        .catch((err) => {
          const where = { source: "UserObject", userId, peerId: watcher, during: "presence" } as const;
          logEvent("warn", "delivery_failed", { ...where, ...errorFields(err) });
        });
    }
  }

  /** Closes the sockets silent for 60 s: they count as gone (4001). */
  closeSilent(): WebSocket[] {
    const { gone } = this.host.presence.silent();
    for (const ws of gone) {
      try {
        ws.close(4001, "no frame or ping for 60 s");
      } catch {
        // Already closed.
      }
    }
    return gone;
  }

  private scheduleSilenceCheck(closing: WebSocket[] = []): void {
    const { nextCheck } = this.host.presence.silent(Date.now(), closing);
    if (nextCheck !== null) this.host.wakeAt(nextCheck);
  }
}
