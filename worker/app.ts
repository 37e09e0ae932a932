/** The Worker's hono app: health, dev tokens, then authentication in front of every other route. */
import { Hono } from "hono";
import { authenticate, tokenOf } from "./auth";
import { type AppEnv, errorResponse } from "./http";
import { originGuard } from "./origin";
import { attachmentRoutes } from "./routes/attachments";
import { chatRoutes } from "./routes/chats";
import { connectRoutes } from "./routes/connect";
import { devRoutes } from "./routes/dev";
import { pushRoutes } from "./routes/push";
import { userRoutes } from "./routes/users";

export const app = new Hono<AppEnv>();

app.get("/health", (c) => c.json({ ok: true }));
app.route("/v1/dev", devRoutes);

app.use("/v1/*", originGuard);
app.use("/v1/*", async (c, next) => {
  const secret = c.env.JWT_SECRET;
  // Fail closed: without a secret nobody is let in.
  if (!secret) return errorResponse(c, "internal", "authentication is not configured (JWT_SECRET)");
  const auth = await authenticate(tokenOf(c.req.raw), secret);
  if (!auth.ok) return errorResponse(c, "unauthorized", auth.message);
  c.set("userId", auth.userId);
  await next();
});

app.route("/v1/chats", chatRoutes);
app.route("/v1/chats", attachmentRoutes);
app.route("/v1", pushRoutes);
app.route("/v1/connect", connectRoutes);
app.route("/v1/users", userRoutes);

app.notFound((c) => errorResponse(c, "not_found", "no such route"));
app.onError((err, c) => {
  console.error("unhandled error", err);
  return errorResponse(c, "internal", "internal error");
});
