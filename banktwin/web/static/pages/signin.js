// Sign-in: a client id and secret exchanged for a token at POST /oauth/token.

import { signIn } from '../api.js';
import { field, h } from '../ui.js';

export async function renderSignIn(view, { params }) {
  const id = h('input', { name: 'client_id', autocomplete: 'username', required: true });
  const secret = h('input', { name: 'client_secret', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'message error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin', onsubmit: submit },
    field('Client id', id),
    field('Client secret', secret),
    message,
    h('div', {}, button),
  );
  view.append(
    h('h1', {}, 'Sign in'),
    ...(params.get('expired')
      ? [h('p', { class: 'message info', role: 'status' }, 'Your session has ended: sign in again.')]
      : []),
    h('p', { class: 'muted' },
      'Sign in with an API client of this banktwin (its id and secret, with the ',
      h('code', {}, 'digitaltwin.read'), ' scope; ', h('code', {}, 'digitaltwin.write'),
      ' to change fraud alerts). The token is kept in this tab only.'),
    h('section', { class: 'panel' }, form),
  );
  id.focus();

  async function submit(event) {
    event.preventDefault();
    message.textContent = '';
    button.disabled = true;
    try {
      await signIn(id.value.trim(), secret.value);
      const next = params.get('next');
      location.hash = next && next.startsWith('#/') && !next.startsWith('#/signin') ? next : '#/overview';
    } catch (err) {
      message.textContent = err instanceof TypeError ? `The server did not answer (${err.message}).` : err.message;
      secret.select();
    } finally {
      button.disabled = false;
    }
  }
}
