// Windows-1252, the charset of undeclared 8-bit mail, decoded by hand (see CP1252_HIGH).

/**
 * Windows-1252's 0x80–0x9F (undefined ones kept as the C1 code, then stripped as controls). Written
 * out because Node's TextDecoder('windows-1252') decodes that range as latin1's C1 controls.
 */
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** Bytes as Windows-1252, the charset of undeclared 8-bit mail. */
export function windows1252(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b);
  return out;
}
