// The running configuration with secrets masked, and a form that tests a mailbox's connection and
// login before it is added to the file.
import { type Html, html } from './html.js';

export function configView(redacted: unknown): Html {
  return html`<h1>Configuration</h1>
<section class="card">
  <h2>Test a mailbox</h2>
  <p class="muted">Connects, checks TLS, logs in and lists the messages. Nothing is fetched, deleted or saved.</p>
  <form class="grid-form" data-api="/api/check-mailbox" data-result="check-result">
    <div class="field"><label for="c-host">Host</label><input id="c-host" name="host" required placeholder="pop.provider.example"></div>
    <div class="field"><label for="c-port">Port</label><input id="c-port" name="port" type="number" min="1" max="65535" placeholder="995"></div>
    <div class="field"><label for="c-tls">TLS</label><select id="c-tls" name="tls"><option value="tls">tls (POP3S)</option><option value="starttls">starttls</option><option value="none">none</option></select></div>
    <div class="field"><label for="c-user">User</label><input id="c-user" name="user" required autocomplete="off"></div>
    <div class="field"><label for="c-password">Password</label><input id="c-password" name="password" type="password" required autocomplete="new-password"></div>
    <div class="field buttons"><button type="submit" class="primary">Test</button></div>
  </form>
  <div id="check-result" class="check-result" aria-live="polite"></div>
</section>
<section class="card">
  <h2>Running configuration</h2>
  <p class="muted">Secrets are shown as ****.</p>
  <pre class="config">${JSON.stringify(redacted, null, 2)}</pre>
</section>`;
}
