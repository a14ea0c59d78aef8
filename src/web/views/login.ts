// The login form: user and password, the double-submit token, and where to go afterwards.
import type { Texts } from '../i18n.js';
import { MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from '../limits.js';
import { type Html, html } from './html.js';
import { layout } from './layout.js';

export function loginPage(
  t: Texts,
  o: { token: string; next: string; error?: string; noUsers: boolean },
): Html {
  return layout(
    t,
    t.login.title,
    undefined,
    html`<section class="login card">
  <h1>${t.login.title}</h1>
  ${o.error ? html`<p class="alert" role="alert">${o.error}</p>` : ''}
  ${o.noUsers ? html`<p class="alert">${t.login.noUsers} <code>postbote hash-password</code>.</p>` : ''}
  <form method="post" action="/login">
    <input type="hidden" name="_csrf" value="${o.token}">
    <input type="hidden" name="next" value="${o.next}">
    <label for="user">${t.login.user}</label>
    <input id="user" name="user" autocomplete="username" maxlength="${MAX_USER_LENGTH}" required autofocus>
    <label for="password">${t.login.password}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" maxlength="${MAX_PASSWORD_LENGTH}" required>
    <button type="submit" class="primary">${t.login.submit}</button>
  </form>
</section>`,
  );
}
