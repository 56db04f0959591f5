// Models: every registered model (GET /v1/admin/models, admin scope) with its versions, their
// aliases, metrics and training windows, which one is the champion, and its drift
// (GET /v1/admin/models/<name>/drift: "no drift measured yet" while it answers 404). The
// operational alerts on drift, firing and resolved, are on the Operations page.

import { api, ApiError } from '../api.js';
import { barChart } from '../chart.js';
import { dash, facts, h, num, route, table, time } from '../ui.js';

const AP = [['holdout_average_precision', 'holdout'], ['cv_average_precision', 'CV'], ['validation_average_precision', 'validation']];
const ROC = [['holdout_roc_auc', 'holdout'], ['cv_roc_auc_mean', 'CV'], ['validation_roc_auc', 'validation']];

export async function renderModels(view, { signal }) {
  view.append(h('h1', {}, 'Models'));
  let body;
  try {
    ({ data: body } = await api('/v1/admin/models?limit=20', { signal }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      view.append(h('p', { class: 'message info', role: 'status' },
        'The Models page needs the digitaltwin.admin scope; sign in with a client that has it.'));
      return;
    }
    throw err;
  }
  view.append(h('p', { class: 'muted' },
    body.registry ? 'Every registered model, its versions and which one serves (the champion). ' : 'No model has been registered on this deployment yet. ',
    h('a', { href: route('/operations') }, 'Operational alerts (drift among them), firing and resolved'), '.'));
  const drifts = [];
  for (const model of body.models) {
    const drift = h('div', { dataset: { drift: model.name } }, h('p', { class: 'muted' }, 'Reading drift…'));
    view.append(h('section', { class: 'panel', 'aria-label': `Model ${model.name}` },
      h('h2', {}, model.name),
      facts([
        ['Champion', model.champion == null ? 'none yet' : h('span', { dataset: { champion: model.name } }, `version ${model.champion}`)],
        ['Versions', `${num(model.versionCount)}${model.versionCount > model.versions.length ? ` (the newest ${model.versions.length} shown)` : ''}`],
      ]),
      versionsTable(model),
      h('h3', {}, 'Drift'),
      drift));
    drifts.push(showDrift(drift, model.name, signal));
  }
  await Promise.all(drifts);
}

const day = (iso) => (iso ? String(iso).slice(0, 10) : dash);

function metric(metrics, keys) {
  for (const [key, where] of keys) {
    if (metrics[key] != null) return `${num(metrics[key], 3)} (${where})`;
  }
  return dash;
}

function versionsTable(model) {
  return table(`Versions of ${model.name}, newest first`, [
    { label: 'Version', num: true, cell: (v) => num(v.version) },
    { label: 'Aliases', cell: (v) => (v.aliases.length ? v.aliases.map((a) => h('span', { class: `badge ${a === 'champion' ? 'resolved' : 'status'}` }, a)) : dash) },
    { label: 'Flavor', cell: (v) => v.flavor },
    { label: 'Average precision', num: true, cell: (v) => metric(v.metrics, AP) },
    { label: 'ROC AUC', num: true, cell: (v) => metric(v.metrics, ROC) },
    { label: 'Trained on', cell: (v) => `${day(v.trainingWindow.start)} → ${day(v.trainingWindow.end)}` },
    { label: 'Registered', cell: (v) => time(v.createdAt) },
    { label: 'All metrics', cell: (v) => h('details', {}, h('summary', {}, `${Object.keys(v.metrics).length} metrics`),
      h('dl', { class: 'facts' }, Object.entries(v.metrics).map(([k, x]) => [h('dt', {}, k), h('dd', {}, x == null ? dash : num(x, 4))]))) },
  ], model.versions, 'No version registered yet.');
}

async function showDrift(panel, name, signal) {
  let d;
  try {
    ({ data: d } = await api(`/v1/admin/models/${encodeURIComponent(name)}/drift`, { signal }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      panel.replaceChildren(h('p', { class: 'muted', dataset: { noDrift: name } }, `No drift measured yet (${err.message}).`));
      return;
    }
    if (err instanceof ApiError) {
      panel.replaceChildren(h('p', { class: 'message error', role: 'alert' }, `Drift could not be read: ${err.message}`));
      return;
    }
    throw err;
  }
  const flag = (x) => (x.drifted ? h('span', { class: 'bad' }, 'drifted') : h('span', { class: 'ok' }, 'stable'));
  const latest = d.latest;
  // The input that moved most: `worst: {input, psi}`, or `worstInput` and `worstPsi`.
  const worst = (x) => {
    const w = x.worst || (x.worstInput ? { input: x.worstInput, psi: x.worstPsi } : null);
    return w ? `${w.input} (PSI ${num(w.psi, 3)})` : dash;
  };
  const history = [...(d.history || [])].reverse(); // oldest first, for the chart
  panel.replaceChildren(
    latest ? facts([
      ['Measured on', `${latest.day} (${num(latest.rows)} rows, model ${d.modelVersion})`],
      ['Score PSI', h('span', { dataset: { scorePsi: name } }, `${num(latest.scorePsi, 3)} against a threshold of ${num(d.threshold, 2)}`)],
      ['Worst input', worst(latest)],
      ['State', flag(latest)],
    ]) : h('p', { class: 'muted' }, 'No drift measured yet.'),
    history.length ? h('figure', { class: 'chart' }, h('figcaption', {}, 'Worst PSI per day (the score or a feature: what drift is judged on)'), barChart({
      bars: history.map((x) => ({ label: x.day, shortLabel: x.day.slice(5), value: x.worstPsi ?? x.scorePsi, hot: x.drifted })),
      refs: [{ value: d.threshold, label: 'threshold', kind: 'limit' }],
      summary: `Worst PSI per day for ${name}, threshold ${d.threshold}; latest ${latest ? num(latest.worstPsi ?? latest.scorePsi, 3) : 'none'}.`,
    })) : null,
    history.length ? table(`Drift of ${name}, newest first`, [
      { label: 'Day', cell: (x) => x.day },
      { label: 'Rows', num: true, cell: (x) => num(x.rows) },
      { label: 'Score PSI', num: true, cell: (x) => num(x.scorePsi, 3) },
      { label: 'Worst input', cell: worst },
      { label: 'State', cell: flag },
    ], d.history) : null,
  );
}
