// The frame of every page: header with navigation and logout, the CSRF token for the script, one
// stylesheet and one script from this server (the CSP allows nothing else).
import { type Html, html } from './html.js';

export interface PageContext {
  user: string;
  csrf: string;
  /** The navigation entry to mark as current. */
  section: 'dashboard' | 'messages' | 'queue' | 'config' | 'mailbox';
}

const NAV: Array<[PageContext['section'], string, string]> = [
  ['dashboard', '/', 'Dashboard'],
  ['messages', '/messages', 'Message log'],
  ['queue', '/queue', 'Queue'],
  ['config', '/config', 'Configuration'],
];

export function layout(title: string, page: PageContext | undefined, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Postbote</title>
${page ? html`<meta name="csrf-token" content="${page.csrf}">` : ''}
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/"><span class="logo" aria-hidden="true">✉</span> Postbote</a>
  ${
    page
      ? html`<nav aria-label="Main"><ul>${NAV.map(
          ([key, href, label]) =>
            html`<li><a href="${href}"${key === page.section ? html` aria-current="page"` : ''}>${label}</a></li>`,
        )}</ul></nav>
  <form class="logout" method="post" action="/logout"><input type="hidden" name="_csrf" value="${page.csrf}">
  <span class="who">${page.user}</span> <button type="submit" class="link">Log out</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${body}
</main>
<div class="toast" role="status" aria-live="polite" id="toast"></div>
</body>
</html>`;
}
