// Runs a message past every configured scanner, streamed from the spool, each scanner under its own
// concurrency cap and the filters' timeout. A scanner that fails is skipped (onError: deliver) or
// makes the whole scan fail (onError: defer) with the scanner named.
import type { Readable } from 'node:stream';
import { SCANNER_PORTS } from '../config/schema-filters.js';
import type { FiltersConfig } from '../config/types.js';
import { isPostboteError, PostboteError, toPostboteError } from '../errors.js';
import { Semaphore } from '../util/semaphore.js';
import { clamdScan } from './clamd.js';
import { rspamdScan } from './rspamd.js';
import type { RspamdEnvelope } from './rspamd-protocol.js';
import type { Endpoint } from './socket-exchange.js';
import { spamdScan } from './spamd.js';
import type { ScanResult } from './types.js';

type ScannerConfig = FiltersConfig['scanners'][number];

/** A filters section with its scanners' concurrency caps, shared by every mailbox that uses it. */
export interface FilterSet {
  config: FiltersConfig;
  limits: Semaphore[];
}

export function filterSet(config: FiltersConfig): FilterSet {
  return { config, limits: config.scanners.map(() => new Semaphore(config.concurrency)) };
}

export interface ScanInput {
  /** Opens the message's bytes (the spool file) afresh for each scanner. */
  open: () => Readable;
  size: number;
  envelope: RspamdEnvelope;
}

export type ScanOutcome =
  | { kind: 'scanned'; results: ScanResult[] }
  | { kind: 'unavailable'; error: PostboteError; results: ScanResult[] };

export async function scanAll(set: FilterSet, input: ScanInput): Promise<ScanOutcome> {
  const { config } = set;
  if (input.size > config.maxScanSize) {
    const reason = `too large (${input.size} bytes, maxScanSize ${config.maxScanSize})`;
    return {
      kind: 'scanned',
      results: config.scanners.map((s) => ({ scanner: s.type, type: s.type, status: 'skipped', reason })),
    };
  }
  const settled = await Promise.all(
    config.scanners.map((s, i) =>
      (set.limits[i] as Semaphore)
        .run(() => scanOne(s, input, config.timeout))
        .then(
          (r): ScanResult | PostboteError => r,
          (err) => (isPostboteError(err) ? err : toPostboteError(err, s.type)),
        ),
    ),
  );
  const results: ScanResult[] = [];
  let error: PostboteError | undefined;
  settled.forEach((r, i) => {
    const s = config.scanners[i] as ScannerConfig;
    if (!(r instanceof PostboteError)) results.push(r);
    else if (s.onError === 'deliver') {
      results.push({
        scanner: s.type,
        type: s.type,
        status: 'skipped',
        reason: `scanner failed: ${r.describe()}`,
      });
    } else error ??= withHint(r);
  });
  return error ? { kind: 'unavailable', error, results } : { kind: 'scanned', results };
}

/** Where a scanner is reached, for messages: 'clamd 127.0.0.1:3310', 'clamd /run/clamav/clamd.ctl'. */
export function scannerWhere(s: ScannerConfig): string {
  return `${s.type} ${s.socket ?? `${s.host ?? '127.0.0.1'}:${s.port ?? SCANNER_PORTS[s.type]}`}`;
}

function withHint(err: PostboteError): PostboteError {
  return new PostboteError('FILTER_UNAVAILABLE', err.message, {
    temporary: true,
    where: err.where,
    cause: err.cause,
    hint: 'mail waits until the scanner answers (onError: defer); start it, or set onError: deliver to pass mail unscanned',
  });
}

export async function scanOne(s: ScannerConfig, input: ScanInput, timeout: number): Promise<ScanResult> {
  const endpoint: Endpoint = s.socket
    ? { socket: s.socket }
    : { host: s.host ?? '127.0.0.1', port: s.port ?? SCANNER_PORTS[s.type] };
  if (s.type === 'clamd') {
    const v = await clamdScan(endpoint, input.open, timeout);
    if (!v.infected && v.tooLarge) {
      return {
        scanner: s.type,
        type: s.type,
        status: 'skipped',
        reason: `too large for clamd (${v.tooLarge}; its StreamMaxLength)`,
      };
    }
    return v.infected
      ? { scanner: s.type, type: s.type, status: 'infected', virus: v.virus }
      : { scanner: s.type, type: s.type, status: 'clean' };
  }
  if (s.type === 'spamd') {
    const v = await spamdScan(endpoint, input.open, input.size, timeout, input.envelope.user);
    return {
      scanner: s.type,
      type: s.type,
      status: v.spam ? 'spam' : 'clean',
      score: v.score,
      required: v.required,
      symbols: v.symbols,
    };
  }
  const v = await rspamdScan(endpoint, input.open, input.size, input.envelope, timeout);
  return {
    scanner: s.type,
    type: s.type,
    status: v.spam ? 'spam' : 'clean',
    score: v.score,
    required: v.required,
    symbols: v.symbols,
    action: v.action,
  };
}
