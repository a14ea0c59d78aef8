// How much a client may send the web admin, and how much of it reaches the log. Each bound is well above
// any honest value and is checked by a route schema or the body parser, before a handler or argon2 runs.

/** RFC 5321 caps an address at 64 + 1 + 255 characters; web user names are addresses or shorter. */
export const MAX_USER_LENGTH = 320;
/** A long passphrase fits; anything longer is a payload, and argon2 would hash all of it. */
export const MAX_PASSWORD_LENGTH = 1024;
/** The login form's token: randomToken() gives 43 characters. */
export const MAX_FORM_TOKEN_LENGTH = 128;
/**
 * JSON bodies: the largest the API takes, a mailbox test with every field at its limit and every
 * character \u-escaped, is under 9 KB.
 */
export const JSON_BODY_LIMIT = 16 * 1024;
/**
 * Form bodies (login, logout): the login form with every field at its limit, in percent-encoded
 * 3-byte UTF-8, is about 19 KB.
 */
export const FORM_BODY_LIMIT = 32 * 1024;
/** A client's value in a log line (user name, URL): enough to recognise it, never a flood. */
export const MAX_LOGGED_CHARS = 128;

/** `text` cut to MAX_LOGGED_CHARS, saying how long it was, for a log line. */
export function clip(text: string, max = MAX_LOGGED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
