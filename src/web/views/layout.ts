// The frame of every page: header with navigation and logout, the CSRF token and the script's words
// for the script, one stylesheet and one script module from this server (the CSP allows nothing else).
import type { Texts } from '../i18n.js';
import { type Html, html } from './html.js';

export interface PageContext {
  user: string;
  csrf: string;
  /** The navigation entry to mark as current. */
  section: 'dashboard' | 'messages' | 'queue' | 'config' | 'mailbox';
  /** This instance's name: with several behind one address, which one answered. */
  instance?: string;
}

const NAV: Array<[keyof Texts['nav'], string]> = [
  ['dashboard', '/'],
  ['messages', '/messages'],
  ['queue', '/queue'],
  ['config', '/config'],
];

export function layout(t: Texts, title: string, page: PageContext | undefined, body: Html): Html {
  return html`<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${t.product}</title>
${page ? html`<meta name="csrf-token" content="${page.csrf}">` : ''}
<meta name="postbote-texts" content="${JSON.stringify(t.script)}">
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/app.js"></script>
</head>
<body>
<a class="skip" href="#main">${t.skip}</a>
<header class="top">
  <a class="brand" href="/"><span class="logo" aria-hidden="true">P</span> ${t.product}</a>
  ${
    page
      ? html`<nav aria-label="${t.navLabel}"><ul>${NAV.map(
          ([key, href]) =>
            html`<li><a href="${href}"${key === page.section ? html` aria-current="page"` : ''}>${t.nav[key]}</a></li>`,
        )}</ul></nav>
  <form class="logout" method="post" action="/logout"><input type="hidden" name="_csrf" value="${page.csrf}">
  <span class="who">${page.user}</span> <button type="submit" class="link">${t.logout}</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${body}
</main>
${page?.instance ? html`<footer class="foot muted small">${t.instance}: <span class="instance">${page.instance}</span></footer>` : ''}
<div class="toast" role="status" aria-live="polite" id="toast"></div>
</body>
</html>`;
}
