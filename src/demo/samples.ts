// Sample mail for `postbote demo`: what a small company's provider mailboxes typically hold.
import { randomBytes } from 'node:crypto';

const DATE = 'Thu, 26 Nov 2026 09:14:03 +0100';

function message(headers: string[], body: string): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`, 'utf8');
}

/** Messages for the plain mailbox info@example.com, delivered to fixed recipients. */
export function infoSamples(): Buffer[] {
  const attachment = randomBytes(150_000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    message(
      [
        'Return-Path: <kunde@beispiel.de>',
        'Received: from mx.beispiel.de (mx.beispiel.de [192.0.2.10]) by pop.provider.example; ' + DATE,
        'From: Erika Mustermann <kunde@beispiel.de>',
        'To: info@example.com',
        'Subject: =?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?=',
        `Date: ${DATE}`,
        'Message-ID: <anfrage-1@beispiel.de>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
      ],
      'Guten Tag,\n\nkönnten Sie mir das Angebot für März bitte noch einmal schicken?\n\nGrüße\nErika Mustermann\n',
    ),
    message(
      [
        'Return-Path: <news@shop.example.net>',
        'From: Shop <news@shop.example.net>',
        'To: info@example.com',
        'Subject: Lines that start with a dot',
        `Date: ${DATE}`,
        'Message-ID: <dots-2@shop.example.net>',
      ],
      'This line is normal.\n.This one starts with a dot (POP3 and SMTP must stuff it).\n.\n..two dots\nEnd.\n',
    ),
    message(
      [
        'Return-Path: <buchhaltung@lieferant.example>',
        'From: Buchhaltung <buchhaltung@lieferant.example>',
        'To: info@example.com',
        'Subject: Rechnung 2026-1142',
        `Date: ${DATE}`,
        'Message-ID: <rechnung-1142@lieferant.example>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
      ],
      `--b1\nContent-Type: text/plain; charset=utf-8\n\nAnbei die Rechnung.\n--b1\nContent-Type: application/pdf; name="rechnung.pdf"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="rechnung.pdf"\n\n${attachment}\n--b1--\n`,
    ),
    message(
      [
        'From: printer@example.com',
        'To: info@example.com',
        'Subject: Scan without a Message-ID',
        `Date: ${DATE}`,
      ],
      'Scanned document attached (not really).\n',
    ),
  ];
}

/** Messages for the catch-all mailbox of example.com, split per user by their envelope headers. */
export function catchAllSamples(): Buffer[] {
  return [
    message(
      [
        'Return-Path: <partner@example.org>',
        'Delivered-To: alice@example.com',
        'Received: from mx.example.org by pop.provider.example for <alice@example.com>; ' + DATE,
        'From: partner@example.org',
        'To: Alice <alice@example.com>',
        'Subject: Meeting on Monday',
        `Date: ${DATE}`,
        'Message-ID: <meeting-7@example.org>',
      ],
      'Hi Alice, see you on Monday.\n',
    ),
    message(
      [
        'Return-Path: <list-bounces@lists.example.net>',
        'Delivered-To: bob@example.com',
        'Received: from lists.example.net by pop.provider.example for <bob@example.com>; ' + DATE,
        'From: Project list <project@lists.example.net>',
        'To: project@lists.example.net',
        'Subject: [project] Release 2.0',
        `Date: ${DATE}`,
        'Message-ID: <release-2@lists.example.net>',
      ],
      'Mailing-list mail: To: names the list, only Delivered-To names Bob.\n',
    ),
    message(
      [
        'Return-Path: <someone@example.net>',
        'From: someone@example.net',
        'To: nobody-we-know@example.net',
        'Subject: No envelope header at all',
        `Date: ${DATE}`,
        'Message-ID: <lost-3@example.net>',
      ],
      'No recipient in example.com can be found: this goes to the fallback (postmaster).\n',
    ),
  ];
}
