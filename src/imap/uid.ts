// A message's stable id at an IMAP source: its UID is only meaningful within one folder and one
// UIDVALIDITY, so the source uid names all three. The folder comes first and the fixed-format suffix
// last, so any folder name (with ';', '=', spaces, non-ASCII) parses back without ambiguity.

export interface ImapUid {
  folder: string;
  /** UIDVALIDITY as decimal text: it is a 32-bit unsigned number, kept exact. */
  uidValidity: string;
  uid: number;
}

const SUFFIX = /;UIDVALIDITY=(\d{1,10});UID=(\d{1,10})$/;

export function formatImapUid(id: ImapUid): string {
  return `${id.folder};UIDVALIDITY=${id.uidValidity};UID=${id.uid}`;
}

/** undefined for a uid that is not in this form (a POP3 UIDL, a damaged value). */
export function parseImapUid(value: string): ImapUid | undefined {
  const m = SUFFIX.exec(value);
  if (!m || m.index === 0) return undefined;
  const uid = Number(m[2]);
  if (!Number.isSafeInteger(uid) || uid < 1) return undefined;
  return { folder: value.slice(0, m.index), uidValidity: String(BigInt(m[1]!)), uid };
}
