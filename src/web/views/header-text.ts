// Header values as a person reads them: RFC 2047 encoded words (`=?UTF-8?Q?f=C3=BCr?=`) decoded.
// One place, so every page (subjects, names, the header list, page titles) decodes the same way.
import { decodeEncodedWords } from '../../message/encoded-word.js';

export function headerText(value: string): string {
  return decodeEncodedWords(value);
}

/** The subject as shown, or undefined when the message has none (the caller says so in its language). */
export function subjectText(subject: string | null): string | undefined {
  return subject === null || subject.trim() === '' ? undefined : headerText(subject);
}
