/** Entry point: the Worker's fetch handler and the Durable Object classes it binds. */
import { app } from "./app";

export { ChatObject } from "../objects/chat/chat-object";
export { RelayObject } from "../objects/relay/relay-object";
export { UserObject } from "../objects/user/user-object";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
