export { createRoster, must, RosterError } from "./client.js";
export type { components, ErrorBody, ErrorCode, Options, paths, Roster, Schemas } from "./client.js";
