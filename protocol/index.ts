/** Protocol v1, written once and shared by the Worker, the objects, the client SDK and the tests. */
export * from "./attachments";
export * from "./entries";
export * from "./errors";
export * from "./frames";
export * from "./http";
export * from "./ids";
export * from "./limits";
export * from "./parse";
export * from "./system";
