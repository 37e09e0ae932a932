/**
 * The caller's own data: privacy settings (`GET` and `PATCH /v1/me/settings`), the export of
 * everything kept of it (`GET /v1/me/export`) and its deletion (`DELETE /v1/me`). Export and
 * deletion need a recent sign-in: a token issued (`iat`) within the last 5 minutes, so that a
 * token stolen or left on a device hours ago cannot take or destroy the account's data.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { userStub } from "../../objects/stubs";
import { settingsPatchBody } from "../../protocol";
import { type AppEnv, errorResponse, readJson } from "../http";
import { exportStream } from "./me-export";

/** How old (seconds) a token may be for export and deletion. */
export const RECENT_SIGN_IN_S = 5 * 60;

/**
 * 401, not 403: the caller is who it says, but must prove it again; a new sign-in is the remedy,
 * as for any 401. Checked before any object is touched.
 */
const recentSignIn: MiddlewareHandler<AppEnv> = async (c, next) => {
  const iat = c.get("iat");
  if (iat === undefined || Date.now() / 1000 - iat > RECENT_SIGN_IN_S) {
    return errorResponse(c, "unauthorized", "this needs a token issued within the last 5 minutes: sign in again");
  }
  await next();
};

export const meRoutes = new Hono<AppEnv>()
  .get("/settings", async (c) => c.json(await userStub(c.env, c.get("userId")).privacySettings()))
  .patch("/settings", async (c) => {
    const body = await readJson(c, settingsPatchBody);
    if (!body.ok) return body.response;
    const me = c.get("userId");
    return c.json(await userStub(c.env, me).updatePrivacy(me, body.data));
  })
  .get("/export", recentSignIn, async (c) => {
    const me = c.get("userId");
    const head = await userStub(c.env, me).exportHead();
    return new Response(exportStream(c.env, me, head), {
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": 'attachment; filename="chat-export.json"',
        "Cache-Control": "no-store",
      },
    });
  })
  .delete("/", recentSignIn, async (c) => {
    const me = c.get("userId");
    const erased = await userStub(c.env, me).erase(me);
    if (!erased.ok) return errorResponse(c, erased.code, erased.message);
    // The reset answers with the error that drops the instance: that is its success.
    await userStub(c.env, me)
      .reset()
      .catch(() => {});
    return c.body(null, 204);
  });
