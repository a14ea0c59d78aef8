// The running configuration with secrets masked, and a form that tests a mailbox's connection and
// login before it is added to the file.
import type { Texts } from '../i18n.js';
import { type Html, html } from './html.js';

export function configView(shown: string, t: Texts): Html {
  const x = t.config;
  return html`<h1>${x.title}</h1>
<section class="card">
  <h2>${x.test}</h2>
  <p class="muted">${x.testNote}</p>
  <form class="grid-form" data-api="/api/check-mailbox" data-result="check-result">
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
