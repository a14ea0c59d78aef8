// The in-process POP3 server: what the demo and the tests import.
export { Maildrop, type StoredMessage } from './maildrop.js';
export { type Pop3Server, startPop3Server } from './server.js';
export type {
  CommandHookContext,
  HookVerdict,
  Pop3ServerCapabilities,
  Pop3ServerHooks,
  Pop3ServerOptions,
  Pop3ServerUser,
} from './types.js';
