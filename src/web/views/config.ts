// The running configuration with secrets masked, and a form that tests a mailbox's connection and
// login: a configured mailbox with its own sign-in, or a new one before it is added to the file.
import type { Texts } from '../i18n.js';
import { type Html, html } from './html.js';

export function configView(shown: string, t: Texts, mailboxes: string[] = []): Html {
  const x = t.config;
  // A configured mailbox is tested with its own sign-in: no password field (an auth: oauth2 one has
  // only its stored token, which a form could not send anyway).
  const configured = mailboxes.length
    ? html`<form class="grid-form" data-api="/api/check-mailbox" data-result="check-result" data-configured>
    <div class="field"><label for="c-mailbox">${x.mailbox}</label><select id="c-mailbox" name="mailbox">${mailboxes.map((m) => html`<option value="${m}">${m}</option>`)}</select></div>
    <div class="field buttons"><button type="submit" class="primary">${x.submit}</button></div>
  </form>
  <p class="muted">${x.testNewNote}</p>
  `
    : '';
  return html`<h1>${x.title}</h1>
<section class="card">
  <h2>${x.test}</h2>
  <p class="muted">${x.testNote}</p>
  ${configured}  <form class="grid-form" data-api="/api/check-mailbox" data-result="check-result">
    <div class="field"><label for="c-host">${x.host}</label><input id="c-host" name="host" required placeholder="pop.provider.example"></div>
    <div class="field"><label for="c-port">${x.port}</label><input id="c-port" name="port" type="number" min="1" max="65535" placeholder="995"></div>
    <div class="field"><label for="c-tls">${x.tls}</label><select id="c-tls" name="tls"><option value="tls">${x.tlsImplicit}</option><option value="starttls">starttls</option><option value="none">none</option></select></div>
    <div class="field"><label for="c-user">${x.user}</label><input id="c-user" name="user" required autocomplete="off"></div>
    <div class="field"><label for="c-password">${x.password}</label><input id="c-password" name="password" type="password" required autocomplete="new-password"></div>
    <div class="field buttons"><button type="submit" class="primary">${x.submit}</button></div>
  </form>
  <div id="check-result" class="check-result" aria-live="polite"></div>
</section>
<section class="card">
  <h2>${x.running}</h2>
  <p class="muted">${x.runningNote}</p>
  <pre class="config">${shown}</pre>
</section>`;
}
