// Customer 360 by id: profile (email and phone masked), accounts and balances, recent
// transactions, risk, alerts, loans and the event timeline (summaries masked by the API);
// the twin as of a chosen time (?asOf=), the timeline up to it.

import { api, ApiError, page } from '../api.js';
import { dash, facts, field, h, maskEmail, maskPhone, money, num, pager, replaceBody, route, severity, shortId, status, table, time } from '../ui.js';
import { transactionsTable } from './alerts.js';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const ALERTS_PAGE = 10;
const TIMELINE_PAGE = 15;

export async function renderCustomer(view, { args: [customerId], params, signal }) {
  const asOf = params.get('asOf') || '';
  const id = h('input', { name: 'id', value: customerId || '', required: true, pattern: UUID, spellcheck: 'false', placeholder: '3f9d2b4c-9c1a-4e2b-9f4a-2c1d5e9b5f2a' });
  const when = h('input', { name: 'asOf', type: 'datetime-local', step: 1, value: asOf ? asOf.slice(0, 19) : '' });
  const form = h('form', { class: 'lookup', onsubmit: (e) => {
    e.preventDefault();
    const at = when.value ? `${when.value.length === 16 ? `${when.value}:00` : when.value}Z` : '';
    location.hash = route(`/customers/${id.value.trim()}`, { asOf: at });
  } },
  field('Customer id', id),
  field('As of (UTC, optional)', when),
  h('button', { type: 'submit' }, 'Show'),
  customerId && asOf ? h('a', { href: route(`/customers/${customerId}`), class: 'button secondary' }, 'Now') : null);
  view.append(h('h1', {}, 'Customer 360'), form);
  if (!customerId) {
    view.append(h('p', { class: 'muted' }, 'Enter a customer id (the demo prints one; every fraud alert links to its customer).'));
    id.focus();
    return;
  }

  let c;
  try {
    ({ data: c } = await api(route(`/v1/customers/${encodeURIComponent(customerId)}`, { asOf }).slice(1), { signal }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      view.append(h('p', { class: 'message info', role: 'status' }, err.message));
      return;
    }
    throw err;
  }
  view.append(
    h('p', { class: 'muted' }, asOf ? `The twin as it was at ${time(asOf)}.` : `The twin now (version ${c.version}, updated ${time(c.lastUpdated)}).`),
    h('div', { class: 'columns' },
      h('section', { class: 'panel' }, h('h2', {}, 'Profile'), facts([
        ['Name', h('span', { dataset: { customerName: '' } }, c.name || dash)],
        ['Customer id', h('span', { class: 'mono' }, c.customerId)],
        ['Segment', c.segment || dash],
        ['Country', c.country || dash],
        ['Born', c.dob ? String(c.dob).slice(0, 4) : dash],
        ['Email', maskEmail(c.email)],
        ['Phone', maskPhone(c.phone)],
        ['Address', c.address ? 'on file' : dash],
        ['Consent', Object.entries(c.consent).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none'],
        ['Customer since', time(c.createdAt)],
      ])),
      h('section', { class: 'panel' }, h('h2', {}, 'Risk'), facts([
        ['Risk score', c.risk ? `${num(c.risk.score, 3)} (model ${c.risk.modelVersion}, ${time(c.risk.timestamp)})` : 'not scored'],
        ['Credit score', c.creditScore ? `${c.creditScore.score} (${c.creditScore.bureau || 'bureau'}, ${c.creditScore.delinquencies ?? 0} delinquencies)` : dash],
        ['Data completeness', `${num(c.dataCompleteness, 1)} %${c.missingData.length ? ` · missing ${c.missingData.join(', ')}` : ''}`],
        ['Alerts', `${num(c.alertCount)} raised, ${num(c.openAlerts.length)} open`],
        ['Fraud reports', num(c.fraudReportCount)],
        ['Logins', `${num(c.behaviour.loginCount)} (${num(c.behaviour.failedLoginCount)} failed), last ${time(c.behaviour.lastLoginAt)}`],
        ['Known devices', num(c.behaviour.knownDevices.length)],
      ]),
      c.risk?.reasons?.length ? table('Why this risk score', [
        { label: 'Feature', cell: (r) => r.feature },
        { label: 'Contribution', num: true, cell: (r) => num(r.contribution, 3) },
        { label: 'Value', num: true, cell: (r) => (r.value == null ? dash : String(r.value)) },
      ], c.risk.reasons) : null),
    ),
    h('section', { class: 'panel' }, h('h2', {}, 'Accounts'), table('Accounts and balances', [
      { label: 'Account', cell: (a) => h('span', { class: 'mono' }, a.accountId) },
      { label: 'Type', cell: (a) => a.type || dash },
      { label: 'Status', cell: (a) => a.status || dash },
      { label: 'Balance', num: true, cell: (a) => money(a.balance, a.currency) },
    ], c.accounts, 'No accounts.'),
    spendingTable(c.spending)),
    h('section', { class: 'panel' }, h('h2', {}, 'Recent transactions'), transactionsTable(`The ${c.recentTransactions.length} newest`, c.recentTransactions)),
  );
  const alerts = h('section', { class: 'panel' }, h('h2', {}, 'Fraud alerts'));
  const timeline = h('section', { class: 'panel' }, h('h2', {}, 'Event timeline'));
  view.append(alerts);
  if (c.loans.length) {
    view.append(h('section', { class: 'panel' }, h('h2', {}, 'Loan applications'), table('Loans', [
      { label: 'Product', cell: (l) => l.product },
      { label: 'Amount', num: true, cell: (l) => money(l.amount, l.currency) },
      { label: 'Stage', cell: (l) => l.stage },
      { label: 'In stage', num: true, cell: (l) => `${num(l.timeInStageHours, 1)} h` },
      { label: 'SLA', cell: (l) => (l.slaBreached ? h('span', { class: 'bad' }, 'breached') : 'ok') },
      { label: 'Decision', cell: (l) => l.decision || dash },
    ], c.loans)));
  }
  view.append(timeline);
  await Promise.all([
    showAlerts(alerts, c.customerId, 0, signal),
    showTimeline(timeline, c.customerId, asOf, 0, signal),
  ]);
}

/** The customer's events from the log, newest first, paged in place (no reload). */
async function showTimeline(panel, customerId, until, offset, signal) {
  const result = await page(`/v1/customers/${encodeURIComponent(customerId)}/events`, { until, limit: TIMELINE_PAGE, offset }, { signal });
  const body = h('div', {},
    table(until ? `Events up to ${time(until)}, newest first` : 'Every event of the customer, newest first', [
      { label: 'Occurred', cell: (e) => time(e.occurredAt) },
      { label: 'Event', cell: (e) => h('span', { class: 'mono' }, e.type) },
      { label: 'What', cell: (e) => e.summary },
      { label: 'Source', cell: (e) => e.source },
      { label: 'Recorded', cell: (e) => time(e.recordedAt) },
    ], result.items, 'No events.'),
    result.total > TIMELINE_PAGE ? pager({ total: result.total, offset, count: result.items.length, links: result.links, label: 'Pages of the customer\'s events',
      go: (o) => showTimeline(panel, customerId, until, o, signal) }) : null);
  replaceBody(panel, body);
}

async function showAlerts(panel, customerId, offset, signal) {
  const result = await page('/v1/fraud-alerts', { customerId, limit: ALERTS_PAGE, offset }, { signal });
  const body = h('div', {},
    table('Every alert about the customer, newest first', [
      { label: 'Alert', cell: (a) => h('a', { href: `#/alerts/${a.alertId}`, class: 'mono' }, shortId(a.alertId)) },
      { label: 'Raised', cell: (a) => time(a.raisedAt) },
      { label: 'Severity', cell: (a) => severity(a.severity) },
      { label: 'Status', cell: (a) => status(a.status) },
      { label: 'Reasons', cell: (a) => a.reasons.join('; ') || dash },
    ], result.items, 'No fraud alerts.'),
    result.total > ALERTS_PAGE ? pager({ total: result.total, offset, count: result.items.length, links: result.links, label: 'Pages of the customer\'s alerts',
      go: (o) => showAlerts(panel, customerId, o, signal) }) : null);
  replaceBody(panel, body);
}

function spendingTable(spending) {
  const rows = [];
  for (const [window, byCurrency] of Object.entries(spending || {})) {
    for (const [currency, total] of Object.entries(byCurrency)) rows.push({ window, currency, ...total });
  }
  if (!rows.length) return null;
  return table('Spending (debits) per window', [
    { label: 'Window', cell: (r) => r.window },
    { label: 'Debits', num: true, cell: (r) => num(r.count) },
    { label: 'Amount', num: true, cell: (r) => money(r.amount, r.currency) },
  ], rows);
}
