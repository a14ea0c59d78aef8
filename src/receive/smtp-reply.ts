// The one way the listener's hooks refuse: an Error that smtp-server sends as the SMTP reply.

/** An error smtp-server turns into a reply: `code` plus text that starts with the enhanced code. */
export function reply(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}
