// What the filter step knows about one message: each scanner's result, the combined verdict, and the
// header edits delivery applies while streaming the spool file (the spool keeps the original bytes).

export type ScannerType = 'rspamd' | 'spamd' | 'clamd';

/** The reason of a record the filter quarantined starts with this (delivery/notice.ts tells them apart). */
export const FILTER_REASON_PREFIX = 'filter: ';

/** What a scanner said about one message, in its own terms. */
export type ScanResult =
  | {
      scanner: string;
      type: ScannerType;
      status: 'clean' | 'spam' | 'infected';
      /** Spam scanners: the score, the score at which they call it spam, the rules that matched. */
      score?: number;
      required?: number;
      symbols?: string[];
      /** rspamd's action ('no action', 'add header', 'reject', …). */
      action?: string;
      /** clamd: the signature name. */
      virus?: string;
    }
  /** Not scanned: too large (maxScanSize), or the scanner failed and onError is deliver. */
  | { scanner: string; type: ScannerType; status: 'skipped'; reason: string };

/** Changes to the header block at delivery, applied to the original bytes while they stream. */
export interface HeaderEdits {
  /** Complete header fields (with CRLF) put on top of the message, below Postbote's Received. */
  add: string[];
  /** Lower-case names of fields removed from the original (a sender may not pre-set them). */
  remove: string[];
  /** Put before the Subject's value (spam.subjectPrefix). */
  subjectPrefix?: string;
}

export type VerdictKind = 'clean' | 'spam' | 'virus' | 'unscanned';

/** Stored with the message (store column `filter`), shown by route, queue show and the web page. */
export interface FilterVerdict {
  verdict: VerdictKind;
  /** What was done: delivered (tagged), redirected to another recipient, quarantined. */
  action: 'deliver' | 'redirect' | 'quarantine';
  results: ScanResult[];
  edits: HeaderEdits;
  /** One line for people: 'spam (rspamd 15.00/15, GTUBE): quarantined'. */
  summary: string;
  /** Whether the postmaster is told (virus.action: notify). */
  notify: boolean;
  at: number;
}
