// The spool's messages held only in memory (small ones, until delivered or filed), oldest first, with
// a cap on their bytes: beyond it the oldest are handed to `evict`, which files them (spool.ts).

export interface HeldMessage {
  chunks: Buffer[];
  size: number;
  sha256: string;
}

export class HeldMessages {
  private readonly byKey = new Map<string, HeldMessage>();
  private bytes = 0;

  /** `evict` must end with delete(key): the message then lives in its file. */
  constructor(
    private readonly maxBytes: number,
    private readonly evict: (key: string) => void,
  ) {}

  add(key: string, message: HeldMessage): void {
    this.byKey.set(key, message);
    this.bytes += message.size;
    for (const k of this.byKey.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.evict(k);
    }
  }

  get(key: string): HeldMessage | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Forgets the message (delivered, or filed); returns it when it was held. */
  delete(key: string): HeldMessage | undefined {
    const m = this.byKey.get(key);
    if (!m) return undefined;
    this.byKey.delete(key);
    this.bytes -= m.size;
    return m;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }
}
