// The dashboard's shell: hash routes (#/overview, #/alerts/<id>, …), the signed-in header,
// and a clean start for each page (the previous page's requests and stream are aborted).

import { session, signOut } from './api.js';
import { problem } from './ui.js';
import { renderSignIn } from './pages/signin.js';
import { renderOverview } from './pages/overview.js';
import { renderAlerts, renderAlert } from './pages/alerts.js';
import { renderCustomer } from './pages/customer.js';
import { renderBranch, renderBranches } from './pages/branches.js';
import { renderModels } from './pages/models.js';
import { renderOperations } from './pages/operations.js';

const ROUTES = [
  { path: /^\/signin$/, render: renderSignIn, open: true },
  { path: /^\/overview$/, render: renderOverview, section: 'overview', title: 'Overview' },
  { path: /^\/alerts$/, render: renderAlerts, section: 'alerts', title: 'Fraud alerts' },
  { path: /^\/alerts\/([^/]+)$/, render: renderAlert, section: 'alerts', title: 'Fraud alert' },
  { path: /^\/customers(?:\/([^/]+))?$/, render: renderCustomer, section: 'customers', title: 'Customer 360' },
  { path: /^\/branches$/, render: renderBranches, section: 'branches', title: 'Branches' },
  { path: /^\/branches\/([^/]+)$/, render: renderBranch, section: 'branches', title: 'Branch' },
  { path: /^\/models$/, render: renderModels, section: 'models', title: 'Models' },
  { path: /^\/operations$/, render: renderOperations, section: 'operations', title: 'Operations' },
];

const main = document.getElementById('main');
let current = null; // the AbortController of the page on screen

function parse(hash) {
  const text = hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = text.split('?');
  return { path, params: new URLSearchParams(query) };
}

function showHeader(s, section) {
  document.getElementById('nav').hidden = !s;
  document.getElementById('session').hidden = !s;
  document.getElementById('who').textContent = s ? `Signed in as ${s.clientId}` : '';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  current?.abort();
  current = new AbortController();
  const { signal } = current;
  const { path, params } = parse(location.hash);
  const found = ROUTES.find((r) => r.path.test(path));
  if (!found) {
    location.replace('#/overview');
    return;
  }
  const s = session();
  if (!found.open && !s) {
    location.replace(`#/signin?next=${encodeURIComponent(location.hash || '#/overview')}`);
    return;
  }
  showHeader(found.open ? null : s, found.section);
  document.title = `${found.title || 'Sign in'} · banktwin`;
  const view = document.createElement('div');
  main.replaceChildren(view);
  main.focus({ preventScroll: true });
  const args = path.match(found.path).slice(1).map((a) => (a ? decodeURIComponent(a) : a));
  try {
    await found.render(view, { params, args, signal, rerender: render });
  } catch (err) {
    if (!signal.aborted) {
      const shown = problem(err);
      if (shown) view.append(shown);
    }
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  location.hash = '#/signin';
});
window.addEventListener('hashchange', render);
render();
