// RFC 2047 encoded words (`=?utf-8?q?M=C3=BCller?=`) in display names and subjects, decoded to text.
// Lenient like real mail readers: unknown charsets fall back to latin1, bad words stay as written.

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;
// Whitespace between two adjacent encoded words is not part of the text (RFC 2047 section 6.2).
const BETWEEN_WORDS = /(\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)/g;

export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  return text
    .replace(BETWEEN_WORDS, '$1')
    .replace(ENCODED_WORD, (word, charset: string, encoding: string, data: string) => {
      const bytes = encoding.toLowerCase() === 'b' ? fromBase64(data) : fromQ(data);
      if (!bytes) return word;
      return decodeBytes(bytes, charset);
    });
}

function fromBase64(data: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return undefined;
  return Buffer.from(data, 'base64');
}

function fromQ(data: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
