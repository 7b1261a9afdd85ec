/**
 * Fixture helpers shared by tests across the project.
 * makeEvent lives next to the reference implementation; it is re-exported here so tests
 * can import it from either module.
 */
export { makeEvent } from "./reference";
