// Who may connect to a receive connector: single addresses, CIDR blocks and from-to ranges, as
// Exchange's RemoteIPRanges takes them. Pure parsing plus a matcher on node's BlockList.
import { BlockList, isIP } from 'node:net';

export type IpRange =
  | { kind: 'address'; family: 4 | 6; address: string }
  | { kind: 'subnet'; family: 4 | 6; address: string; prefix: number }
  | { kind: 'range'; family: 4 | 6; from: string; to: string };

/** '192.168.1.10', '10.0.0.0/24', 'fd00::/64', '10.0.0.1-10.0.0.20'; undefined for anything else. */
export function parseIpRange(text: string): IpRange | undefined {
  const value = text.trim();
  const dash = value.indexOf('-');
  if (dash >= 0) {
    const from = value.slice(0, dash).trim();
    const to = value.slice(dash + 1).trim();
    const family = isIP(from);
    if (family === 0 || isIP(to) !== family) return undefined;
    if (toBigInt(from, family) > toBigInt(to, family)) return undefined;
    return { kind: 'range', family: family as 4 | 6, from, to };
  }
  const [address = '', bits, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return undefined;
  if (bits === undefined) return { kind: 'address', family: family as 4 | 6, address };
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { kind: 'subnet', family: family as 4 | 6, address, prefix };
}

/** '::ffff:10.0.0.1' (an IPv4 client on a dual-stack socket) is 10.0.0.1 for matching and logs. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** A matcher for a list of ranges; an empty list matches no one (like a connector without permissions). */
export function ipMatcher(ranges: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const text of ranges) {
    const range = parseIpRange(text);
    if (!range) throw new Error(`not an IP address or range: ${text}`);
    const type = range.family === 4 ? 'ipv4' : 'ipv6';
    if (range.kind === 'address') list.addAddress(range.address, type);
    else if (range.kind === 'subnet') list.addSubnet(range.address, range.prefix, type);
    else list.addRange(range.from, range.to, type);
  }
  return (address) => {
    const a = normalizeAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function toBigInt(address: string, family: number): bigint {
  if (family === 4) return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const expand = (parts: string[]) =>
    parts.flatMap((p) => {
      if (!p.includes('.')) return [p];
      const v4 = toBigInt(p, 4);
      return [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    });
  const h = expand(groups(head));
  const t = expand(groups(tail));
  const all = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return all.reduce((n: bigint, g: string) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
