// Errors the backend throws on purpose, by name, so they cross the API as {name, message} that a
// person understands and a transport can map to a status (NotFound → 404, Conflict → 409).
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The request is well-formed but the thing is in the wrong state for it (e.g. pausing a finished job). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** A feature whose engine part is missing from this build or install (says what is missing). */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}
