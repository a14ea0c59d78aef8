// Turns an address found in the header into the company recipients it stands for: aliases first,
// then accepted domains with the optional domain rewrite. Anything else is outside: never delivered.
import { type Mailbox, normalizeDomain, parseMailbox } from '../message/address.js';
import type { CatchAllRule } from './types.js';

export type Mapping =
  | { kind: 'deliver'; targets: string[]; how: string }
  | { kind: 'outside'; address: string };

/**
 * Local parts are compared and delivered lower-cased: the servers Postbote delivers to treat them
 * case-insensitively, and `Bob@` and `bob@` must not become two copies for one person.
 */
export function canonical(mailbox: Mailbox): string {
  return mailbox.address.toLowerCase();
}

export class RecipientMapper {
  private readonly domains: Set<string>;
  private readonly aliases: Map<string, string[]>;
  private readonly rewrite?: string;

  constructor(rule: CatchAllRule) {
    this.domains = new Set(rule.domains.map((d) => normalizeDomain(d) ?? d.toLowerCase()));
    this.aliases = new Map(
      Object.entries(rule.aliases ?? {}).map(([key, targets]) => [aliasKey(key), targets.map(lowerDomain)]),
    );
    if (rule.rewriteDomain) this.rewrite = normalizeDomain(rule.rewriteDomain) ?? rule.rewriteDomain;
  }

  accepts(domain: string): boolean {
    return this.domains.has(domain);
  }

  /**
   * Alias keys tried in order: the full address, `*@domain`, the local part (accepted domains only),
   * then the same without a `+tag`. A full-address or `*@domain` alias names its domain explicitly,
   * so it applies even outside `domains`; a bare local part never does.
   */
  map(mailbox: Mailbox): Mapping {
    const address = canonical(mailbox);
    const at = address.lastIndexOf('@');
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    const accepted = this.accepts(domain);
    const plus = local.indexOf('+');
    const base = plus > 0 ? local.slice(0, plus) : undefined;
    const keys = [address, `*@${domain}`, ...(accepted ? [local] : [])];
    if (base) keys.push(`${base}@${domain}`, ...(accepted ? [base] : []));
    for (const key of keys) {
      const targets = this.aliases.get(key);
      if (targets) return { kind: 'deliver', targets, how: `via alias ${key}` };
    }
    if (!accepted) return { kind: 'outside', address };
    if (this.rewrite && this.rewrite !== domain) {
      return { kind: 'deliver', targets: [`${local}@${this.rewrite}`], how: 'via rewriteDomain' };
    }
    return { kind: 'deliver', targets: [address], how: '' };
  }

  /** For rule actions: an address or local part through the same aliases and rewrite. */
  mapConfigured(value: string): string[] {
    const mailbox = parseMailbox(value.includes('@') ? value : `${value}@${[...this.domains][0]}`);
    if (!mailbox) return [value];
    const m = this.map(mailbox);
    return m.kind === 'deliver' ? m.targets : [m.address];
  }
}

function aliasKey(key: string): string {
  const k = key.trim().toLowerCase();
  const at = k.lastIndexOf('@');
  if (at < 0) return k;
  const domain = k.slice(at + 1);
  return `${k.slice(0, at)}@${normalizeDomain(domain) ?? domain}`;
}

function lowerDomain(address: string): string {
  const mailbox = parseMailbox(address);
  return mailbox ? canonical(mailbox) : address;
}
