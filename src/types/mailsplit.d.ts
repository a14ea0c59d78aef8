// Minimal types for mailsplit (no @types package exists): only what src/message/attachments.ts uses.
declare module 'mailsplit' {
  import { Transform } from 'node:stream';

  export interface SplitterOptions {
    /** Bytes of one part's header block before the splitter fails with code EMAXLEN. */
    maxHeadSize?: number;
    /** Parts (MIME nodes) before the splitter fails with code EMAXLEN. */
    maxChildNodes?: number;
    /** Do not descend into message/rfc822 parts. */
    ignoreEmbedded?: boolean;
  }

  export interface MimeNode {
    type: 'node';
    root: boolean;
    /** Lower-cased media type, false when absent. */
    contentType: string | false;
    /** Lower-cased Content-Transfer-Encoding, '' when absent. */
    encoding: string;
    /** Set on a message/rfc822 node the splitter descends into (inline ones). */
    messageNode?: boolean;
    /** The part's raw header block. */
    getHeaders(): Buffer;
  }

  export interface BodyChunk {
    type: 'body' | 'data';
    node: MimeNode;
    value: Buffer;
  }

  /** A Transform from message bytes to MimeNode and BodyChunk objects. */
  export class Splitter extends Transform {
    constructor(options?: SplitterOptions);
  }
}
