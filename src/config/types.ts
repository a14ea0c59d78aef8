// The configuration types, derived from the schema's output plus what resolve.ts adds (secrets, PEMs).
// Plain data: `postbote demo` and tests may build a Config by hand.
import type { z } from 'zod';
import type { configSchema } from './schema.js';

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type RawConfig = z.output<typeof configSchema>;
type RawTarget = RawConfig['target'];
type RawMailbox = RawConfig['mailboxes'][number];

/** 'return-path' | 'mailbox' | '<>' (null sender) | a fixed address. */
export type EnvelopeSender = 'return-path' | 'mailbox' | '<>' | (string & {});

export type TlsMode = RawTarget['tls'];

export type TargetConfig = Simplify<
  Omit<RawTarget, 'helo' | 'auth' | 'ca'> & {
    /** Name for EHLO/LHLO; defaults to this machine's host name. */
    helo: string;
    /** Absolute path of the extra CA file, and its contents. */
    ca?: string;
    caPem?: string;
    auth?: { user: string; password: string; passwordFile?: string };
  }
>;

export type MailboxConfig = Simplify<
  Omit<
    RawMailbox,
    | 'password'
    | 'ca'
    | 'interval'
    | 'maxMessageSize'
    | 'envelopeSender'
    | 'deliverTo'
    | 'folders'
    | 'exclude'
    | 'afterDelivery'
    | 'oauth2'
  > &
    Partial<Pick<RawMailbox, 'folders' | 'exclude' | 'afterDelivery'>> & {
      /** Resolved from password (after ${VAR}) or the contents of passwordFile. Never log it. */
      password: string;
      ca?: string;
      caPem?: string;
      /** Milliseconds; defaults to scheduler.interval. */
      interval: number;
      /** Bytes; defaults to delivery.maxMessageSize. */
      maxMessageSize: number;
      /** Defaults to delivery.envelopeSender. */
      envelopeSender: EnvelopeSender;
      /** Fixed recipients; empty for a catchAll mailbox. */
      deliverTo: string[];
      /** With auth: oauth2; keyFile absolute, and where the encrypted refresh token is kept. */
      oauth2?: OAuth2Config;
    }
>;

export type OAuth2Config = Simplify<NonNullable<RawMailbox['oauth2']> & { tokenFile: string }>;

/** The `alerts:` section (src/alerts/). */
export type AlertsConfig = NonNullable<RawConfig['alerts']>;
/** A `filters:` section, global or a mailbox's own. */
export type FiltersConfig = NonNullable<RawConfig['filters']>;
export type CatchAllConfig = NonNullable<MailboxConfig['catchAll']>;
export type DeliveryConfig = RawConfig['delivery'];
export type SchedulerConfig = RawConfig['scheduler'];
type RawReceive = NonNullable<RawConfig['receive']>[number];
type RawDeliver = RawReceive['deliver'];
/** Where a listener hands mail on: exactly one of lmtp, maildir, smtp; TLS only for a next hop. */
export type ReceiveDeliver = Simplify<
  Pick<RawDeliver, 'lmtp' | 'maildir' | 'smtp'> & {
    tls?: RawDeliver['tls'];
    tlsVerify?: boolean;
    /** Absolute path of the next hop's extra CA file, and its contents. */
    ca?: string;
    caPem?: string;
  }
>;
export type ReceiveConfig = Simplify<
  Omit<RawReceive, 'tls' | 'deliver'> & {
    deliver: ReceiveDeliver;
    /** Absolute paths of the certificate and key files, and their contents (the key is a secret). */
    tls?: { cert: string; key: string; certPem: string; keyPem: string; required: boolean };
  }
>;
type RawWeb = NonNullable<RawConfig['web']>;
export type WebConfig = Simplify<
  Omit<RawWeb, 'tls'> & {
    /** Absolute paths of the certificate and key files, and their contents (the key is a secret). */
    tls?: { cert: string; key: string; certPem: string; keyPem: string };
  }
>;

export type Config = Simplify<
  Omit<RawConfig, 'state' | 'target' | 'mailboxes' | 'delivery' | 'web' | 'receive'> & {
    /** Absolute folder for SQLite and the spool, or the postgres:// URL as written. */
    state: string;
    stateKind: 'sqlite' | 'postgres';
    target: TargetConfig;
    delivery: Simplify<Omit<DeliveryConfig, 'envelopeSender'> & { envelopeSender: EnvelopeSender }>;
    mailboxes: MailboxConfig[];
    receive?: ReceiveConfig[];
    web?: WebConfig;
  }
>;
