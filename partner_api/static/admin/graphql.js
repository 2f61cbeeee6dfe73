// The page's only way to the server: POST /graphql with one of the operation documents of
// graphql/operations/ (served, unchanged, as /settings/assets/operations.json). No inline GraphQL.

const ENDPOINT = new URL("../../graphql", import.meta.url);
const OPERATIONS = new URL("operations.json", import.meta.url);
const NETWORK_MESSAGE = "Could not reach the server. Check your connection and try again.";

/** The request never got an answer (offline, server down, connection reset). */
export class NetworkError extends Error {
  constructor() {
    super(NETWORK_MESSAGE);
    this.name = "NetworkError";
  }
}

/** No valid admin session: the page shows the login screen. */
export class SessionError extends Error {
  constructor(message) {
    super(message || "Your session has ended. Log in again.");
    this.name = "SessionError";
  }
}

/** Anything else the server refused or failed at (top-level GraphQL errors, HTTP errors). */
export class ServerError extends Error {
  constructor(message) {
    super(message);
    this.name = "ServerError";
  }
}

let documents = null;

async function operationDocuments() {
  if (documents === null) {
    let response;
    try {
      response = await fetch(OPERATIONS, { headers: { Accept: "application/json" } });
    } catch {
      throw new NetworkError();
    }
    if (!response.ok) {
      throw new ServerError(`Could not load the page's GraphQL documents (HTTP ${response.status}).`);
    }
    documents = await response.json();
  }
  return documents;
}

/**
 * Run the named operation document; resolves to its `data`. Rejects with NetworkError,
 * SessionError or ServerError, never silently.
 */
export async function run(operationName, variables = {}) {
  const all = await operationDocuments();
  const query = all[operationName];
  if (typeof query !== "string") {
    throw new ServerError(`The GraphQL document ${operationName} is missing from this installation.`);
  }
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query, variables, operationName }),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new NetworkError();
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ServerError(`The server answered HTTP ${response.status} without a GraphQL result.`);
  }
  const errors = Array.isArray(body.errors) ? body.errors : [];
  if (errors.some((error) => error.extensions && error.extensions.code === "UNAUTHENTICATED")) {
    throw new SessionError();
  }
  if (errors.length > 0 || !response.ok || !body.data) {
    const message = errors.map((error) => error.message).join(" ") || `HTTP ${response.status}`;
    throw new ServerError(`The server could not complete the request: ${message}`);
  }
  return body.data;
}
