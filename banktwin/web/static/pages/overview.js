// Overview: the bank-wide KPIs and readiness, kept live by GET /v1/stream/kpis (server-sent
// events read with fetch); a lost stream is opened again after a pause.

import { api } from '../api.js';
import { barChart } from '../chart.js';
import { follow, liveStatus } from '../live.js';
import { dash, h, num, route } from '../ui.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const HIGH_RISK = 0.7; // buckets from here are drawn hot

export async function renderOverview(view, { signal }) {
  const live = liveStatus();
  const cards = {};
  const card = (key, title) => {
    const value = h('div', { class: 'value', dataset: { kpi: key } }, dash);
    const sub = h('div', { class: 'sub', dataset: { kpiSub: key } });
    cards[key] = { value, sub };
    return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), value, sub);
  };
  const ready = h('span', {}, dash);
  const charts = h('div', { class: 'charts' });
  view.append(
    h('h1', {}, 'Overview'),
    live,
    h('div', { class: 'cards' },
      card('customers', 'Customers'),
      card('eventsPerSecond', 'Events / s'),
      card('consumerLag', 'Consumer lag'),
      card('completeness', 'Data completeness'),
      card('openAlerts', 'Open fraud alerts'),
      card('alertRate', 'Fraud-alert rate'),
      card('precision', 'Fraud detection'),
      card('riskScored', 'Risk scores'),
    ),
    charts,
    h('p', { class: 'muted' }, 'Service: ', ready),
  );

  const state = { kpis: null, consumers: null };
  const show = () => {
    if (state.kpis) showKpis(cards, charts, state.kpis);
    if (state.consumers) showLag(cards, state.consumers);
  };

  // Readiness (no token needed) says whether the log and the twin answer.
  fetch('/readyz', { signal })
    .then((r) => r.json())
    .then((body) => {
      ready.textContent = body.status;
      ready.className = body.status === 'ready' ? 'ok' : 'bad';
      if (!state.consumers && body.consumers) {
        state.consumers = body.consumers;
        show();
      }
    })
    .catch(() => {});
  // Fail fast on a token without the read scope, before opening the stream.
  await api('/v1/kpis?minutes=60&hours=48', { signal }).then(({ data }) => {
    state.kpis = data;
    show();
  });

  await follow('/v1/stream/kpis?minutes=60&hours=48', (name, data) => {
    if (name === 'kpis') state.kpis = data;
    else if (name === 'consumers') state.consumers = data;
    else return false;
    show();
    return true;
  }, { signal, status: live, asOf: () => state.kpis?.asOf });
}

function set(cards, key, value, sub, cls) {
  cards[key].value.textContent = value;
  cards[key].value.className = `value ${cls || ''}`;
  cards[key].sub.textContent = sub;
}

/** Events per second over the last full minute (the current one is not over). */
function eventsPerSecond(kpis) {
  const last = new Date(Date.parse(kpis.asOf) - 60_000).toISOString().slice(0, 16);
  const n = kpis.eventsPerMinute.filter((e) => e.minute === last).reduce((a, e) => a + e.count, 0);
  return n / 60;
}

function showKpis(cards, charts, k) {
  const c = k.dataCompleteness;
  set(cards, 'customers', num(c.customers), `${num(c.completeCustomers)} with a complete profile`);
  set(cards, 'eventsPerSecond', num(eventsPerSecond(k), 1), `last full minute · ${num(k.events)} events counted`);
  set(cards, 'completeness', `${num(c.percent, 1)} %`, `target ${c.target} % · ${c.meetsTarget ? 'meets it' : 'below it'}`, c.meetsTarget ? 'ok' : 'bad');
  const open = SEVERITIES.reduce((a, s) => a + (k.openAlerts[s] || 0), 0);
  set(cards, 'openAlerts', num(open), SEVERITIES.map((s) => `${s} ${num(k.openAlerts[s] || 0)}`).join(' · '), open ? 'bad' : 'ok');
  const r = k.fraudAlertRate;
  const ratio = r.ratio == null ? 'no baseline yet' : `${num(r.ratio, 1)}× baseline`;
  set(cards, 'alertRate', `${num(r.lastHour.alerts)} / h`,
    `last full hour · baseline ${num(r.baseline, 2)} / h · ${ratio} (alerting above ${num(r.threshold)}×)`,
    r.exceeds ? 'bad' : 'ok');
  const o = k.fraudOutcomes;
  set(cards, 'precision', o.precision == null ? dash : `${num(o.precision * 100, 1)} %`,
    `precision so far · ${num(o.raised)} raised · ${num(o.confirmedFraud)} confirmed · ${count(o.falsePositives, 'false positive')} · ${num(o.open)} open${since(o.countedSince)}`);
  const rs = k.riskScores;
  const high = rs.buckets.filter((b) => b.from >= HIGH_RISK).reduce((a, b) => a + b.customers, 0);
  set(cards, 'riskScored', num(rs.customers), `customers scored · ${num(high)} at ${HIGH_RISK} or above${since(rs.countedSince)}`);

  const perHour = r.perHour.slice(-24);
  const byMinute = new Map();
  for (const e of k.eventsPerMinute) byMinute.set(e.minute, (byMinute.get(e.minute) || 0) + e.count);
  const now = Date.parse(k.asOf);
  const minutes = Array.from({ length: 30 }, (_, i) => new Date(now - (29 - i) * 60_000).toISOString().slice(0, 16));
  const outcomes = [
    ['open', o.open], ['confirmed fraud', o.confirmedFraud], ['false positive', o.falsePositives], ['closed, no verdict', o.closedWithoutVerdict],
  ];
  charts.replaceChildren(
    chartFigure('Fraud alerts raised per hour (last 24 h)', barChart({
      bars: perHour.map((p) => ({ label: `${p.hour}:00`, shortLabel: `${p.hour.slice(11)}h`, value: p.alerts, hot: r.baseline > 0 && p.alerts > r.threshold * r.baseline })),
      refs: [
        { value: r.baseline, label: 'baseline' },
        { value: r.baseline * r.threshold, label: `${num(r.threshold)}× baseline`, kind: 'limit' },
      ].filter((x) => x.value > 0),
      summary: `Fraud alerts per hour over the last ${perHour.length} hours; baseline ${num(r.baseline, 2)} per hour; last full hour ${r.lastHour.alerts}.`,
    })),
    chartFigure('Events logged per minute (last 30 min)', barChart({
      bars: minutes.map((m) => ({ label: m, shortLabel: m.slice(11), value: byMinute.get(m) || 0 })),
      summary: `Events logged per minute over the last 30 minutes; ${num(byMinute.get(minutes[29]) || 0)} so far this minute.`,
    })),
    chartFigure('Fraud alerts by outcome', barChart({
      bars: outcomes.map(([label, value]) => ({ label, value, hot: label === 'confirmed fraud' })),
      summary: `Fraud alerts: ${outcomes.map(([label, value]) => `${value} ${label}`).join(', ')}; precision ${o.precision == null ? 'not known yet' : `${num(o.precision * 100, 1)} %`}.`,
    }), h('a', { href: route('/alerts', { status: 'open' }) }, 'The open alerts')),
    chartFigure('Risk-score distribution (customers by latest score)', barChart({
      bars: rs.buckets.map((b) => ({ label: `${b.from.toFixed(1)}–${b.to.toFixed(1)}`, shortLabel: b.from.toFixed(1), value: b.customers, hot: b.from >= HIGH_RISK })),
      summary: `Customers by their latest risk score in buckets of 0.1: ${rs.buckets.map((b) => `${b.customers} from ${b.from.toFixed(1)}`).join(', ')}.`,
    })),
  );
}

function count(n, noun) {
  return `${num(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function since(hour) {
  return hour ? ` · counted since ${hour}:00 UTC` : '';
}

function showLag(cards, consumers) {
  const worst = Math.max(0, ...consumers.map((x) => x.lag));
  const oldest = Math.max(0, ...consumers.map((x) => x.lagSeconds || 0));
  const each = consumers.map((x) => `${x.name} ${num(x.lag)}`).join(' · ');
  set(cards, 'consumerLag', `${num(worst)} events`, `${each}${oldest ? ` · oldest ${num(oldest, 1)} s` : ''}`, oldest > 300 ? 'bad' : 'ok');
}

function chartFigure(caption, chart, ...after) {
  return h('figure', { class: 'chart' }, h('figcaption', {}, caption), chart, ...after);
}
