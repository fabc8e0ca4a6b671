export * from "./source.ts";
export * from "./messages.ts";
export * from "./diagnostic.ts";
