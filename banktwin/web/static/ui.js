// DOM building (no innerHTML: API text is always inserted as text), formatting, tables, pagers.

import { ApiError, SignedOut } from './api.js';

/** h('a', {href, class, onclick}, ...children): an element; null/false children are skipped. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const dash = '—';

export function time(iso) {
  if (!iso) return dash;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function clock(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 19) : dash;
}

export function num(n, digits = 0) {
  if (n == null || Number.isNaN(Number(n))) return dash;
  return Number(n).toLocaleString('en', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function money(amount, currency) {
  if (amount == null) return dash;
  try {
    return Number(amount).toLocaleString('en', { style: 'currency', currency });
  } catch {
    return `${num(amount, 2)} ${currency || ''}`.trim();
  }
}

/** j•••@example.com: enough to recognise, not to contact. */
export function maskEmail(email) {
  if (!email) return dash;
  const [user, domain] = String(email).split('@');
  return `${user.slice(0, 1)}•••@${domain || '•••'}`;
}

/** •••• 42: the last two digits only. */
export function maskPhone(phone) {
  if (!phone) return dash;
  const digits = String(phone).replace(/\D/g, '');
  return `•••• ${digits.slice(-2)}`;
}

export const shortId = (id) => (id ? String(id).slice(0, 8) : dash);

export function severity(s) {
  return h('span', { class: `badge sev-${s}` }, s);
}

export function status(s) {
  return h('span', { class: `badge status ${s}` }, String(s).replace('_', ' '));
}

/** A table: columns [{label, cell(row), num}] over rows; a caption names it for readers. */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: caption ? null : 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label))),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.cell(row)))),
        ),
      ),
    ),
  );
}

/** "21–40 of 1,234" with Previous / Next buttons from the list's Link header. */
export function pager({ total, offset, count, links, go, label }) {
  const range = total ? `${num(offset + 1)}–${num(offset + count)} of ${num(total)}` : 'none';
  return h(
    'nav',
    { class: 'pager', 'aria-label': label },
    h('button', {
      type: 'button',
      class: 'secondary',
      disabled: links.prev === undefined,
      onclick: () => go(links.prev),
    }, 'Previous'),
    h('span', { role: 'status' }, range),
    h('button', {
      type: 'button',
      class: 'secondary',
      disabled: links.next === undefined,
      onclick: () => go(links.next),
    }, 'Next'),
  );
}

/**
 * Put `body` in `panel` in place of what it showed after its heading, keeping the keyboard
 * focus on the pager button of the same name when one had it (else on the other one).
 */
export function replaceBody(panel, body) {
  const focused = panel.contains(document.activeElement) ? document.activeElement.textContent : null;
  panel.querySelector(':scope > div')?.remove();
  panel.append(body);
  if (!focused) return;
  const buttons = [...panel.querySelectorAll('.pager button')];
  (buttons.find((b) => b.textContent === focused && !b.disabled) || buttons.find((b) => !b.disabled))?.focus();
}

export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export function select(name, options, value) {
  return h(
    'select',
    { name },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
}

/** What went wrong, for a person (a SignedOut has already gone to sign-in: nothing). */
export function problem(err) {
  if (err instanceof SignedOut || err?.name === 'AbortError') return null;
  let text = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError && err.status === 403) {
    text = `This client may not do that: ${err.message}`;
  } else if (err instanceof TypeError) {
    text = `The server did not answer (${err.message}).`;
  }
  return h('p', { class: 'message error', role: 'alert' }, text);
}

/** Build a hash route: route('/alerts', {status: 'open'}). */
export function route(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) query.set(k, v);
  const q = query.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}
