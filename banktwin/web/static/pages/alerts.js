// Fraud alerts: the filtered, paged queue; one alert with its reasons, transaction, customer
// context and history; status changes (PATCH with If-Match, the ETag the analyst saw).

import { api, ApiError, canWrite, page } from '../api.js';
import { dash, facts, field, h, money, num, pager, problem, route, select, severity, shortId, status, table, time } from '../ui.js';

const STATUSES = ['open', 'investigating', 'confirmed_fraud', 'false_positive', 'closed'];
const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const NEXT = {
  open: ['investigating'],
  investigating: ['confirmed_fraud', 'false_positive'],
  confirmed_fraud: ['closed'],
  false_positive: ['closed'],
  closed: [],
};
const ACTION = {
  investigating: 'Start investigating',
  confirmed_fraud: 'Confirm fraud',
  false_positive: 'Mark false positive',
  closed: 'Close',
};
const label = (s) => s.replace('_', ' ');

export async function renderAlerts(view, { params, signal }) {
  const filters = {
    status: params.get('status') || '',
    severity: params.get('severity') || '',
    limit: params.get('limit') || '25',
  };
  const offset = Number(params.get('offset') || 0);
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = route('/alerts', data);
  } },
  field('Status', select('status', [['', 'Any'], ...STATUSES.map((s) => [s, label(s)])], filters.status)),
  field('Severity', select('severity', [['', 'Any'], ...SEVERITIES.map((s) => [s, s])], filters.severity)),
  field('Per page', select('limit', ['10', '25', '50', '100'].map((n) => [n, n]), filters.limit)),
  h('button', { type: 'submit' }, 'Apply'));
  view.append(h('h1', {}, 'Fraud alerts'), form);

  const result = await page('/v1/fraud-alerts', { ...filters, offset }, { signal });
  const go = (o) => { location.hash = route('/alerts', { ...filters, offset: o }); };
  view.append(
    table('Fraud alerts, newest raised first', [
      { label: 'Alert', cell: (a) => h('a', { href: `#/alerts/${a.alertId}`, class: 'mono', 'aria-label': `Alert ${shortId(a.alertId)}` }, shortId(a.alertId)) },
      { label: 'Raised', cell: (a) => time(a.raisedAt) },
      { label: 'Severity', cell: (a) => severity(a.severity) },
      { label: 'Status', cell: (a) => status(a.status) },
      { label: 'Score', num: true, cell: (a) => (a.score == null ? dash : num(a.score, 2)) },
      { label: 'Customer', cell: (a) => h('a', { href: `#/customers/${a.customerId}`, class: 'mono' }, shortId(a.customerId)) },
      { label: 'Reasons', cell: (a) => a.reasons.join('; ') || dash },
    ], result.items, 'No alert matches these filters.'),
    pager({ total: result.total, offset, count: result.items.length, links: result.links, go, label: 'Pages of fraud alerts' }),
  );
}

export async function renderAlert(view, { args: [alertId], signal, rerender }) {
  const { data: a, headers } = await api(`/v1/fraud-alerts/${encodeURIComponent(alertId)}`, { signal });
  const etag = headers.get('ETag');
  const tx = a.transaction;
  const c = a.customer;
  view.append(
    h('a', { class: 'back', href: '#/alerts' }, '← Fraud alerts'),
    h('h1', {}, 'Fraud alert ', h('span', { class: 'mono' }, shortId(a.alertId))),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'alert-summary' },
        h('h2', { id: 'alert-summary' }, 'Alert'),
        facts([
          ['Status', h('span', { dataset: { alertStatus: a.status } }, status(a.status))],
          ['Severity', severity(a.severity)],
          ['Score', a.score == null ? dash : num(a.score, 3)],
          ['Raised', time(a.raisedAt)],
          ['Updated', time(a.updatedAt)],
          ['Rules', a.ruleIds.join(', ') || dash],
          ['Alert id', h('span', { class: 'mono' }, a.alertId)],
          ['Version', String(a.version)],
        ]),
        h('h3', {}, 'Reasons'),
        a.reasons.length ? h('ul', {}, a.reasons.map((r) => h('li', {}, r))) : h('p', { class: 'empty' }, 'No reasons given.'),
      ),
      changeForm(a, etag, rerender),
    ),
    h('section', { class: 'panel' },
      h('h2', {}, 'Transaction'),
      tx ? facts([
        ['Amount', `${money(tx.amount, tx.currency)} (${tx.direction})`],
        ['Channel', tx.channel],
        ['Merchant', [tx.merchant, tx.merchantCategory].filter(Boolean).join(' · ') || dash],
        ['Where', tx.location ? [tx.location.city, tx.location.country].filter(Boolean).join(', ') : dash],
        ['Occurred', time(tx.occurredAt)],
        ['Account', h('span', { class: 'mono' }, tx.accountId)],
        ['Transaction id', h('span', { class: 'mono' }, tx.transactionId)],
      ]) : h('p', { class: 'empty' }, `Transaction ${a.transactionId} is not in the twin.`),
    ),
    h('section', { class: 'panel' },
      h('h2', {}, 'Customer'),
      c ? [
        facts([
          ['Name', c.name || dash],
          ['Customer 360', h('a', { href: `#/customers/${c.customerId}`, class: 'mono' }, c.customerId)],
          ['Risk score', c.riskScore == null ? dash : num(c.riskScore, 3)],
          ['Transactions', num(c.transactionCount)],
          ['Alerts', `${num(c.alertCount)} raised, ${num(c.openAlertCount)} open`],
          ['Fraud reports', `${num(c.fraudReportCount)}${c.lastFraudReportAt ? `, last ${time(c.lastFraudReportAt)}` : ''}`],
        ]),
        transactionsTable('Recent activity', c.recentTransactions),
      ] : h('p', { class: 'empty' }, 'The customer is not in the twin yet.'),
    ),
    h('section', { class: 'panel' },
      h('h2', {}, 'History'),
      table('Status changes, in the order they were logged', [
        { label: 'At', cell: (e) => time(e.at) },
        { label: 'Status', cell: (e) => status(e.status) },
        { label: 'Analyst', cell: (e) => e.analyst || dash },
        { label: 'Note', cell: (e) => e.note || dash },
        { label: 'Source', cell: (e) => e.source },
      ], a.history),
    ),
  );
}

export function transactionsTable(caption, rows) {
  return table(caption, [
    { label: 'Occurred', cell: (t) => time(t.occurredAt) },
    { label: 'Amount', num: true, cell: (t) => money(t.direction === 'debit' ? -t.amount : t.amount, t.currency) },
    { label: 'Channel', cell: (t) => t.channel || dash },
    { label: 'Merchant', cell: (t) => t.merchant || t.description || dash },
    { label: 'Country', cell: (t) => t.country || t.location?.country || dash },
    { label: 'Account', cell: (t) => h('span', { class: 'mono' }, t.accountId) },
  ], rows, 'No transactions.');
}

function changeForm(a, etag, rerender) {
  const next = NEXT[a.status] || [];
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'alert-change' }, h('h2', { id: 'alert-change' }, 'Decide'));
  if (!next.length) return panel.appendChild(h('p', { class: 'empty' }, 'The alert is closed.')) && panel;
  if (!canWrite()) {
    panel.append(h('p', { class: 'empty' }, 'Changing an alert needs the digitaltwin.write scope.'));
    return panel;
  }
  const note = h('textarea', { name: 'note', rows: 3, maxlength: 200, required: true });
  const message = h('p', { class: 'message', role: 'status' });
  const buttons = next.map((s) => h('button', { type: 'submit', value: s, class: s === 'closed' ? 'secondary' : null }, ACTION[s]));
  const form = h('form', { onsubmit: submit }, field('Note (why; kept in the log)', note), h('div', { class: 'actions' }, buttons), message);
  panel.append(h('p', { class: 'muted' }, `Next steps from ${label(a.status)}: ${next.map(label).join(' or ')}.`), form);
  return panel;

  async function submit(event) {
    event.preventDefault();
    const to = event.submitter?.value;
    if (!to) return;
    if (!note.value.trim()) {
      message.className = 'message error';
      message.textContent = 'Write a note: why this change.';
      note.focus();
      return;
    }
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await api(`/v1/fraud-alerts/${a.alertId}`, {
        method: 'PATCH',
        body: { status: to, note: note.value.trim() },
        headers: etag ? { 'If-Match': etag } : {},
      });
      await rerender();
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      message.className = 'message error';
      if (err instanceof ApiError && err.status === 412) {
        message.textContent = 'Someone changed this alert since you opened it. Nothing was changed: reload it and decide again.';
        message.append(' ', h('button', { type: 'button', class: 'secondary', onclick: () => rerender() }, 'Reload'));
      } else {
        const shown = problem(err);
        message.textContent = shown ? shown.textContent : '';
      }
    }
  }
}
