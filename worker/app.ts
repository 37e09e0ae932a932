/** The Worker's hono app: health, dev tokens, then authentication in front of every other route. */
import { Hono } from "hono";
import { errorFields, logEvent } from "../objects/log-event";
import { authConfigOf, authConfigured, authenticate, tokenOf } from "./auth";
import { apiCors } from "./cors";
import { authFailureLimit, upgradeLimit } from "./edge-limits";
import { deepHealth } from "./health";
import { type AppEnv, errorResponse } from "./http";
import { originGuard } from "./origin";
import { requestLog } from "./request-log";
import { attachmentRoutes } from "./routes/attachments";
import { chatRoutes } from "./routes/chats";
import { connectRoutes } from "./routes/connect";
import { devRoutes } from "./routes/dev";
import { meRoutes } from "./routes/me";
import { pushRoutes } from "./routes/push";
import { blockRoutes, userRoutes } from "./routes/users";

export const app = new Hono<AppEnv>();

// First, so that every answer (health, preflights, 404s, errors) carries X-Request-Id and is logged.
app.use(requestLog);
app.use("/v1/*", apiCors);
app.use("/health/*", apiCors);
app.get("/health", (c) => c.json({ ok: true }));
app.get("/health/deep", deepHealth);
app.route("/v1/dev", devRoutes);

app.use("/v1/connect", upgradeLimit);
app.use("/v1/*", originGuard);
app.use("/v1/*", authFailureLimit);
app.use("/v1/*", async (c, next) => {
  const config = authConfigOf(c.env);
  // Fail closed: with neither a secret nor a key set nobody is let in.
  if (!authConfigured(config)) {
    return errorResponse(c, "internal", "authentication is not configured (JWT_SECRET, JWT_JWKS or JWT_JWKS_URL)");
  }
  const auth = await authenticate(tokenOf(c.req.raw), config);
  if (!auth.ok) {
    logEvent("warn", "auth_failed", { source: "Worker", requestId: c.get("requestId"), reason: auth.message });
    return errorResponse(c, "unauthorized", auth.message);
  }
  c.set("userId", auth.userId);
  c.set("iat", auth.iat);
  await next();
});

app.route("/v1/chats", chatRoutes);
app.route("/v1/chats", attachmentRoutes);
app.route("/v1", pushRoutes);
app.route("/v1/connect", connectRoutes);
app.route("/v1/users", userRoutes);
app.route("/v1/blocks", blockRoutes);
app.route("/v1/me", meRoutes);

app.notFound((c) => errorResponse(c, "not_found", "no such route"));
app.onError((err, c) => {
  logEvent("error", "unexpected_error", { source: "Worker", requestId: c.get("requestId"), ...errorFields(err) });
  return errorResponse(c, "internal", "internal error");
});
