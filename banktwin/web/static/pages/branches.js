// Branches: every branch's queues, waits, staff on duty and occupancy, kept live by
// GET /v1/stream/branches (a page of the list, pushed when the twin commits); a branch's
// state and its day so far (GET /v1/branches/<id>/day, per hour).

import { api, ApiError, page } from '../api.js';
import { barChart } from '../chart.js';
import { follow, liveStatus } from '../live.js';
import { dash, facts, field, h, num, pager, route, table, time } from '../ui.js';

const PAGE_SIZES = ['10', '25', '50', '100'];

export async function renderBranches(view, { params, signal }) {
  const limit = PAGE_SIZES.includes(params.get('limit')) ? params.get('limit') : '25';
  const offset = Math.max(Number(params.get('offset')) || 0, 0);
  const id = h('input', { name: 'id', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'lookup', onsubmit: (e) => {
    e.preventDefault();
    location.hash = route(`/branches/${id.value.trim()}`);
  } }, field('Branch id', id), h('button', { type: 'submit' }, 'Show'));
  const live = liveStatus();
  const list = h('div', { 'aria-live': 'off' });
  view.append(h('h1', {}, 'Branches'), live, list, h('h2', {}, 'A branch by id'), form);

  // The first page from the list endpoint (fails fast on a token without the read scope),
  // then the stream keeps it current.
  const first = await page('/v1/branches', { limit, offset }, { signal });
  showList(list, { items: first.items, total: first.total, limit: Number(limit), offset });
  await follow(route('/v1/stream/branches', { limit, offset }).slice(1), (name, data) => {
    if (name !== 'branches') return false;
    showList(list, data);
    return true;
  }, { signal, status: live, asOf: (data) => data.asOf });
}

function showList(list, { items, total, limit, offset }) {
  const links = {};
  if (offset + limit < total) links.next = offset + limit;
  if (offset > 0) links.prev = Math.max(offset - limit, 0);
  const go = (o) => { location.hash = route('/branches', { limit, offset: o }); };
  // Keep the keyboard focus where it was when a push redraws the table.
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  list.replaceChildren(
    table('Every branch, live', [
      { label: 'Branch', cell: (b) => h('a', { href: `#/branches/${b.branchId}`, dataset: { focusKey: b.branchId } }, b.name || b.branchId) },
      { label: 'City', cell: (b) => [b.city, b.country].filter(Boolean).join(', ') || dash },
      { label: 'Open', cell: (b) => (b.isOpen ? h('span', { class: 'ok' }, 'open') : h('span', { class: 'muted' }, 'closed')) },
      { label: 'Staff on duty', num: true, cell: (b) => num(b.staffOnDuty) },
      { label: 'Waiting', num: true, cell: (b) => h('span', { dataset: { waiting: b.branchId } }, num(b.customersWaiting)) },
      { label: 'Queues (waiting · wait to join now)', cell: (b) => queueText(b.queues) },
      { label: 'Longest wait now', num: true, cell: (b) => `${num(b.longestWaitMinutes, 1)} min` },
      { label: 'Occupancy', num: true, cell: (b) => occupancyText(b.occupancy) },
    ], items, 'No branch has sent an event yet.'),
    pager({ total, offset, count: items.length, links, go, label: 'Pages of branches' }),
  );
  if (focused) list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
}

/** The queues someone waits in (with the wait of one joining now), and services closed. */
function queueText(queues) {
  const busy = queues.filter((q) => q.length > 0 || !q.available);
  if (!busy.length) return queues.length ? 'nobody waiting' : dash;
  return busy.map((q) => (q.available
    ? `${q.service}: ${num(q.length)} · ~${num(q.estimatedWaitMinutes, 0)} min`
    : `${q.service}: closed${q.length ? ` (${num(q.length)} waiting)` : ''}`)).join('; ');
}

function occupancyText(o) {
  if (o.ratio == null) return `${num(o.customers)}`;
  return `${num(o.customers)} of ${num(o.capacity)} (${num(o.ratio * 100)} %)`;
}

export async function renderBranch(view, { args: [branchId], params, signal }) {
  const asOf = params.get('asOf') || '';
  const day = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '') ? params.get('date') : '';
  view.append(h('a', { href: '#/branches', class: 'back' }, '← Every branch'), h('h1', {}, 'Branch'));
  let b;
  try {
    ({ data: b } = await api(route(`/v1/branches/${encodeURIComponent(branchId)}/state`, { asOf }).slice(1), { signal }));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
      view.append(h('p', { class: 'message info', role: 'status' }, err.message));
      return;
    }
    throw err;
  }
  view.querySelector('h1').textContent = b.name || 'Branch';
  view.append(
    h('section', { class: 'panel' }, h('h2', {}, 'Now'), facts([
      ['Open', b.isOpen ? h('span', { class: 'ok' }, 'open') : h('span', { class: 'bad' }, 'closed')],
      ['Where', [b.address, b.location?.city, b.location?.country].filter(Boolean).join(', ') || dash],
      ['Staff on duty', num(b.staffAvailable)],
      ['Occupancy', `${num(b.occupancy.customers)} of ${num(b.occupancy.capacity)} (${num((b.occupancy.ratio || 0) * 100)} %)`],
      ['Longest wait now', `${num(b.longestWaitMinutes, 1)} min`],
      ['Branch id', h('span', { class: 'mono' }, b.branchId)],
      ['Updated', time(b.lastUpdated)],
    ])),
    h('section', { class: 'panel' }, h('h2', {}, 'Queues'), table('Queues and wait times', [
      { label: 'Service', cell: (q) => q.service },
      { label: 'Available', cell: (q) => (q.available ? 'yes' : 'no') },
      { label: 'Waiting', num: true, cell: (q) => num(q.length) },
      { label: 'Staff', num: true, cell: (q) => num(q.staffAvailable) },
      { label: 'Estimated wait', num: true, cell: (q) => (q.estimatedWaitMinutes == null ? dash : `${num(q.estimatedWaitMinutes, 1)} min`) },
      { label: 'Observed wait', num: true, cell: (q) => (q.avgWaitMinutes == null ? dash : `${num(q.avgWaitMinutes, 1)} min`) },
    ], b.queues, 'No queues.')),
    h('section', { class: 'panel' }, h('h2', {}, 'Staff on duty'), table('Staff checked in', [
      { label: 'Staff', cell: (s) => h('span', { class: 'mono' }, s.staffId) },
      { label: 'Services', cell: (s) => s.services.join(', ') || dash },
      { label: 'Since', cell: (s) => time(s.since) },
    ], b.staff, 'Nobody is checked in.')),
  );
  const dayPanel = h('section', { class: 'panel', 'aria-labelledby': 'branch-day' });
  view.append(dayPanel);
  await showDay(dayPanel, b.branchId, day, signal);
}

async function showDay(panel, branchId, day, signal) {
  const picked = h('input', { name: 'date', type: 'date', value: day, max: new Date().toISOString().slice(0, 10) });
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    location.hash = route(`/branches/${branchId}`, { date: picked.value });
  } }, field('Day (UTC)', picked), h('button', { type: 'submit' }, 'Show the day'));
  panel.replaceChildren(h('h2', { id: 'branch-day' }, day ? `The day ${day}` : 'The day so far'), form);
  let d;
  try {
    ({ data: d } = await api(route(`/v1/branches/${encodeURIComponent(branchId)}/day`, { date: day }).slice(1), { signal }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      panel.append(h('p', { class: 'message info', role: 'status' }, err.message));
      return;
    }
    throw err;
  }
  if (!day) picked.value = d.day;
  const wait = (m) => (m == null ? dash : `${num(m, 1)} min`);
  panel.append(
    h('p', { class: 'muted' }, `${d.day} (UTC), up to ${time(d.until)}.`),
    facts([
      ['Customers joined', h('span', { dataset: { dayJoined: '' } }, num(d.joined))],
      ['Served', num(d.served)],
      ['Abandoned', num(d.abandoned)],
      ['Mean wait', wait(d.meanWaitMinutes)],
      ['Longest wait', wait(d.longestWaitMinutes)],
      ['Peak queue', d.peakQueueAt ? `${num(d.peakQueue)} at ${time(d.peakQueueAt)}` : num(d.peakQueue)],
      ['Still waiting', num(d.waitingAtUntil)],
      ['Staff check-ins / check-outs', `${num(d.staffCheckIns)} / ${num(d.staffCheckOuts)} (at most ${num(d.peakStaff)} on duty)`],
      ['Opened / closed', `${d.openedAt ? time(d.openedAt) : dash} / ${d.closedAt ? time(d.closedAt) : dash}`],
    ]),
    h('div', { class: 'charts' },
      h('figure', { class: 'chart' }, h('figcaption', {}, 'Customers joined per hour'), barChart({
        bars: d.hours.map((x) => ({ label: `${x.hour}:00`, shortLabel: `${x.hour.slice(11)}h`, value: x.joined, hot: x.abandoned > 0 })),
        summary: `Customers joined per hour on ${d.day}: ${d.hours.filter((x) => x.joined).map((x) => `${x.joined} at ${x.hour.slice(11)}h`).join(', ') || 'none'}.`,
      })),
      h('figure', { class: 'chart' }, h('figcaption', {}, 'Peak queue per hour'), barChart({
        bars: d.hours.map((x) => ({ label: `${x.hour}:00`, shortLabel: `${x.hour.slice(11)}h`, value: x.peakQueue })),
        summary: `The most customers waiting at once, per hour, on ${d.day}; at most ${d.peakQueue}.`,
      })),
    ),
    table('Per hour', [
      { label: 'Hour (UTC)', cell: (x) => `${x.hour.slice(11)}:00` },
      { label: 'Joined', num: true, cell: (x) => num(x.joined) },
      { label: 'Served', num: true, cell: (x) => num(x.served) },
      { label: 'Abandoned', num: true, cell: (x) => num(x.abandoned) },
      { label: 'Mean wait', num: true, cell: (x) => wait(x.meanWaitMinutes) },
      { label: 'Peak queue', num: true, cell: (x) => num(x.peakQueue) },
      { label: 'Check-ins', num: true, cell: (x) => num(x.staffCheckIns) },
      { label: 'Check-outs', num: true, cell: (x) => num(x.staffCheckOuts) },
    ], d.hours.filter((x) => x.joined || x.served || x.abandoned || x.peakQueue || x.staffCheckIns || x.staffCheckOuts), 'Nothing happened this day.'),
    table('Per service', [
      { label: 'Service', cell: (s) => s.service },
      { label: 'Joined', num: true, cell: (s) => num(s.joined) },
      { label: 'Served', num: true, cell: (s) => num(s.served) },
      { label: 'Abandoned', num: true, cell: (s) => num(s.abandoned) },
      { label: 'Mean wait', num: true, cell: (s) => wait(s.meanWaitMinutes) },
      { label: 'Longest wait', num: true, cell: (s) => wait(s.longestWaitMinutes) },
    ], d.services, 'No queue this day.'),
  );
}
