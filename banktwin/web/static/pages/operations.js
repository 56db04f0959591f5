// Operations: the operational alerts (lag, stalls, fraud-alert rate, drift), firing and
// resolved; and the connectors' dead letters (GET /v1/admin/dead-letters, admin scope): the
// records refused, where they were read and why. The records themselves are not shown (they
// may hold personal data): `banktwin dead-letters show ID` prints one for whoever fixes it.

import { ApiError, page } from '../api.js';
import { dash, field, h, num, pager, route, select, table, time } from '../ui.js';

const LETTER_STATUSES = [['pending', 'pending'], ['replayed', 'replayed'], ['discarded', 'discarded'], ['any', 'Any']];

export async function renderOperations(view, { params, signal }) {
  const filters = { status: params.get('status') || '', limit: params.get('limit') || '25' };
  const shown = params.get('letters');
  const letters = {
    letters: LETTER_STATUSES.some(([v]) => v === shown) ? shown : 'pending',
    letterOffset: Number(params.get('letterOffset') || 0),
  };
  const offset = Number(params.get('offset') || 0);
  const here = (changes) => route('/operations', { ...filters, offset, ...letters, ...changes });
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    location.hash = here({ ...Object.fromEntries(new FormData(form)), offset: 0 });
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
      go: (o) => { location.hash = here({ offset: o }); } }),
  );
  view.append(await deadLetters(letters, here, signal));
}

async function deadLetters({ letters, letterOffset }, here, signal) {
  const section = h('section', { 'aria-label': 'Dead letters' }, h('h2', {}, 'Dead letters'));
  let result;
  try {
    const status = letters === 'any' ? '' : letters;
    result = await page('/v1/admin/dead-letters', { status, limit: 10, offset: letterOffset }, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      section.append(h('p', { class: 'message info', role: 'status' },
        'Dead letters need the digitaltwin.admin scope; sign in with a client that has it.'));
      return section;
    }
    throw err;
  }
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    location.hash = here({ letters: new FormData(form).get('letters'), letterOffset: 0 });
  } },
  field('Dead letters', select('letters', LETTER_STATUSES, letters)),
  h('button', { type: 'submit' }, 'Show'));
  section.append(
    h('p', { class: 'muted' }, 'Records the connectors refused, with the reasons. Fix and replay them, or discard them, with ',
      h('code', {}, 'banktwin dead-letters'), ' (the record itself: ', h('code', {}, 'banktwin dead-letters show ID'), ').'),
    form,
    table('Dead letters, oldest first', [
      { label: 'Source', cell: (d) => d.source },
      { label: 'Read at', cell: (d) => d.origin.described },
      { label: 'Why', cell: (d) => h('ul', { class: 'reasons' }, d.errors.map((e) => h('li', {}, e.field ? `${e.field}: ${e.message}` : e.message))) },
      { label: 'Received', cell: (d) => time(d.receivedAt) },
      { label: 'Status', cell: (d) => h('span', { class: `badge status ${d.status}` }, d.status) },
      { label: 'Note', cell: (d) => d.note || dash },
      { label: 'Id', cell: (d) => h('code', { dataset: { letter: d.id } }, d.id) },
    ], result.items, letters === 'any' ? 'No dead letter.' : `No ${letters} dead letter.`),
    pager({ total: result.total, offset: letterOffset, count: result.items.length, links: result.links, label: 'Pages of dead letters',
      go: (o) => { location.hash = here({ letterOffset: o }); } }),
  );
  return section;
}
