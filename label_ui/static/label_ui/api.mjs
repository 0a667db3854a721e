// The REST API with the page's session: JSON in and out, the CSRF token on every write, and the
// error envelope {code, message, detail} turned into an ApiError the page can show in words.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.code = body && body.code;
    this.detail = body && body.detail;
  }

  /** The message with the first concrete reason the API gave, for people. */
  describe() {
    const reason = this.detail && typeof this.detail === "object" && this.detail.reason;
    return reason && !this.message.includes(reason) ? `${this.message} (${reason})` : this.message;
  }
}

export function makeApi(config) {
  return async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = config.csrfToken;
    let response;
    try {
      response = await fetch(config.api + path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, { message: "The server cannot be reached; check the connection and try again." });
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  };
}
