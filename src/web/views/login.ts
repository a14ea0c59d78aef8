// The login form: user and password, the double-submit token, and where to go afterwards.
import { MAX_PASSWORD_LENGTH, MAX_USER_LENGTH } from '../limits.js';
import { type Html, html } from './html.js';
import { layout } from './layout.js';

export function loginPage(o: { token: string; next: string; error?: string; noUsers: boolean }): Html {
  return layout(
    'Log in',
    undefined,
    html`<section class="login card">
  <h1>Log in</h1>
  ${o.error ? html`<p class="alert" role="alert">${o.error}</p>` : ''}
  ${
    o.noUsers
      ? html`<p class="alert">No web users are configured. Add one under <code>web.users</code> with a hash from
      <code>postbote hash-password</code>.</p>`
      : ''
  }
  <form method="post" action="/login">
    <input type="hidden" name="_csrf" value="${o.token}">
    <input type="hidden" name="next" value="${o.next}">
    <label for="user">User</label>
    <input id="user" name="user" autocomplete="username" maxlength="${MAX_USER_LENGTH}" required autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" maxlength="${MAX_PASSWORD_LENGTH}" required>
    <button type="submit" class="primary">Log in</button>
  </form>
</section>`,
  );
}
