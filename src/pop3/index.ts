// The POP3 source: what the rest of Postbote imports.
export { openPop3, Pop3Session } from './client.js';
export type { Pop3AuthMethod, Pop3Options, Pop3Timeouts, Pop3Tls } from './options.js';
export { pop3Where } from './options.js';
