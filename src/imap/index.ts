// IMAP / IMAPS source (imapflow): folders, UIDVALIDITY-scoped uids, streamed bodies, after-delivery modes.

export { DEFAULT_EXCLUDE } from './folders.js';
export type { AfterDelivery, ImapOptions } from './options.js';
export { ImapSession, openImap } from './session.js';
export { formatImapUid, type ImapUid, parseImapUid } from './uid.js';
export { type ImapWatch, type ImapWatchOptions, reconnectDelay, watchImap } from './watch.js';
