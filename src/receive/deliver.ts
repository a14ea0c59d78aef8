// Where a receive connector puts an accepted message: into the Maildir (stored before the answer) or
// to the next hop over LMTP or SMTP, whose replies make the answer.
import type { Readable } from 'node:stream';
import type { ReceiveConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { deliverToMaildir } from './maildir.js';
import { type Answer, relayMessage, splitHostPort } from './relay.js';

export type Deliver = (
  envelope: { from: string; to: string[] },
  body: Readable,
  cid: string,
) => Promise<Answer>;

/** The delivery of one listener, as its `deliver:` says; `fqdn` is the HELO name towards the next hop. */
export function deliverer(config: ReceiveConfig, fqdn: string, log: Logger): Deliver {
  return async (envelope, body, cid) => {
    const d = config.deliver;
    if (d.maildir !== undefined) {
      const name = await deliverToMaildir(d.maildir, envelope.to, body);
      return { code: 250, message: `2.0.0 stored as ${name}` } satisfies Answer;
    }
    const hop = splitHostPort((d.lmtp ?? d.smtp)!);
    return relayMessage(
      {
        ...hop,
        lmtp: d.lmtp !== undefined,
        helo: fqdn,
        logger: log.child({ cid }),
        ...(d.tls !== undefined ? { tls: d.tls } : {}),
        ...(d.tlsVerify !== undefined ? { tlsVerify: d.tlsVerify } : {}),
        ...(d.caPem !== undefined ? { ca: d.caPem } : {}),
      },
      envelope,
      body,
    );
  };
}
