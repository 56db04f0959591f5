// Branches: one branch's queues, wait times and staff on duty (by branch id; ?asOf= for the past).

import { api, ApiError } from '../api.js';
import { dash, facts, field, h, num, route, table, time } from '../ui.js';

export async function renderBranch(view, { args: [branchId], params, signal }) {
  const asOf = params.get('asOf') || '';
  const id = h('input', { name: 'id', value: branchId || '', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'lookup', onsubmit: (e) => {
    e.preventDefault();
    location.hash = route(`/branches/${id.value.trim()}`);
  } }, field('Branch id', id), h('button', { type: 'submit' }, 'Show'));
  view.append(h('h1', {}, 'Branches'), form);
  if (!branchId) {
    id.focus();
    return;
  }
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
  view.append(
    h('section', { class: 'panel' }, h('h2', {}, b.name || 'Branch'), facts([
      ['Open', b.isOpen ? h('span', { class: 'ok' }, 'open') : h('span', { class: 'bad' }, 'closed')],
      ['Where', [b.address, b.location?.city, b.location?.country].filter(Boolean).join(', ') || dash],
      ['Staff on duty', num(b.staffAvailable)],
      ['Occupancy', `${num(b.occupancy.customers)} of ${num(b.occupancy.capacity)} (${num((b.occupancy.ratio || 0) * 100)} %)`],
      ['Longest wait now', `${num(b.longestWaitMinutes, 1)} min`],
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
}
