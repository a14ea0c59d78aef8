// The SMTP/LMTP delivery client's public surface: what the delivery layer and `postbote check` use.
export { connectSmtp } from './client.js';
export { DotStuffer } from './dot-stuff.js';
export { classifyRefusal, isClientRefusal, isTooLarge, type ReplyKind, replyKind } from './refusal.js';
export { formatReply, parseReply } from './reply.js';
export type * from './types.js';
