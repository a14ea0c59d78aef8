// The company's mail domains as the configuration names them, most used first, then the target's own
// domain: what a bare local part (`deliverTo: [info]`) most likely lacks. Read from the raw YAML data,
// before (and whatever) the schema says.
import { isAddress, isDomain } from './fields.js';

// Keys whose addresses are the company's own (not the provider's login names, `user:`).
const ADDRESS_KEYS = new Set(['deliverTo', 'fallback', 'postmaster', 'addRecipient', 'copyTo', 'reroute']);

export function configDomains(data: unknown): string[] {
  const counts = new Map<string, number>();
  const add = (domain: string) => {
    const d = domain.trim().toLowerCase();
    if (isDomain(d)) counts.set(d, (counts.get(d) ?? 0) + 1);
  };
  const addAddresses = (value: unknown) => {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'string' && isAddress(v.trim())) add(v.slice(v.lastIndexOf('@') + 1));
    }
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (ADDRESS_KEYS.has(key)) addAddresses(value);
      else if (key === 'rewriteDomain' && typeof value === 'string') add(value);
      else if (key === 'acceptedDomains' && Array.isArray(value)) {
        for (const d of value) {
          if (typeof d === 'string') add(d);
          else if (d && typeof (d as { domain?: unknown }).domain === 'string')
            add((d as { domain: string }).domain);
        }
      }
      walk(value);
    }
  };
  walk(data);
  const named = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([domain]) => domain);
  // Failing those, the company server's own domain: mx.corp.local → corp.local.
  const target = (data as { target?: { host?: unknown; helo?: unknown } } | null)?.target;
  const derived = [target?.host, target?.helo]
    .map((h) => (typeof h === 'string' ? h.trim().toLowerCase().split('.').slice(1).join('.') : ''))
    .filter((d) => d.includes('.') && isDomain(d) && !named.includes(d));
  return [...named, ...new Set(derived)];
}
