// Operations: the operational alerts (lag, stalls, fraud-alert rate, drift), firing and resolved.

import { page } from '../api.js';
import { dash, field, h, num, pager, route, select, table, time } from '../ui.js';

export async function renderOperations(view, { params, signal }) {
  const filters = { status: params.get('status') || '', limit: params.get('limit') || '25' };
  const offset = Number(params.get('offset') || 0);
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    location.hash = route('/operations', Object.fromEntries(new FormData(form)));
  } },
  field('Status', select('status', [['', 'Any'], ['firing', 'firing'], ['resolved', 'resolved']], filters.status)),
  field('Per page', select('limit', ['10', '25', '50', '100'].map((n) => [n, n]), filters.limit)),
  h('button', { type: 'submit' }, 'Apply'));
  view.append(h('h1', {}, 'Operations'),
    h('p', { class: 'muted' }, 'Ingestion lag, stalled consumers, the fraud-alert rate and model drift, firing and resolved. Each model\'s drift, day by day, is on the ',
      h('a', { href: route('/models') }, 'Models'), ' page.'),
    form);
  const result = await page('/v1/alerts', { ...filters, offset }, { signal });
  view.append(
    table('Operational alerts, newest first', [
      { label: 'Status', cell: (a) => h('span', { class: `badge ${a.status}` }, a.status) },
      { label: 'Rule', cell: (a) => a.rule },
      { label: 'On', cell: (a) => a.key },
      { label: 'Severity', cell: (a) => a.severity },
      { label: 'Summary', cell: (a) => a.summary },
      { label: 'Value', num: true, cell: (a) => `${num(a.value, 2)} (> ${num(a.threshold, 2)})` },
      { label: 'Fired', cell: (a) => time(a.firedAt) },
      { label: 'Resolved', cell: (a) => (a.resolvedAt ? time(a.resolvedAt) : dash) },
    ], result.items, 'No operational alert has fired.'),
    pager({ total: result.total, offset, count: result.items.length, links: result.links, label: 'Pages of operational alerts',
      go: (o) => { location.hash = route('/operations', { ...filters, offset: o }); } }),
  );
}
