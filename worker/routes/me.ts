/** The caller's own privacy settings: `GET` and `PATCH /v1/me/settings`. */
import { Hono } from "hono";
import { userStub } from "../../objects/stubs";
import { settingsPatchBody } from "../../protocol";
import { type AppEnv, readJson } from "../http";

export const meRoutes = new Hono<AppEnv>()
  .get("/settings", async (c) => c.json(await userStub(c.env, c.get("userId")).privacySettings()))
  .patch("/settings", async (c) => {
    const body = await readJson(c, settingsPatchBody);
    if (!body.ok) return body.response;
    const me = c.get("userId");
    return c.json(await userStub(c.env, me).updatePrivacy(me, body.data));
  });
