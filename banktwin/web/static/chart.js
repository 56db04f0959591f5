// Bar charts drawn as plain SVG, with reference lines (a baseline, a threshold).

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text != null) el.textContent = text;
  return el;
}

/**
 * bars: [{label, value, hot}]; refs: [{value, label, kind}] drawn as dashed lines.
 * The chart is an image for assistive technology, described by `summary`.
 */
export function barChart({ bars, refs = [], summary, width = 560, height = 180 }) {
  const pad = { top: 12, right: 8, bottom: 22, left: 36 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const max = Math.max(1, ...bars.map((b) => b.value), ...refs.map((r) => r.value || 0));
  const y = (v) => pad.top + hgt - (v / max) * hgt;
  const root = svg('svg', {
    class: 'bars',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary,
  });
  root.append(svg('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0) }));
  root.append(svg('text', { x: pad.left - 4, y: y(max) + 4, 'text-anchor': 'end' }, formatTick(max)));
  root.append(svg('text', { x: pad.left - 4, y: y(0) + 4, 'text-anchor': 'end' }, '0'));
  const step = bars.length ? w / bars.length : w;
  bars.forEach((b, i) => {
    const top = y(b.value);
    const rect = svg('rect', {
      class: b.hot ? 'bar hot' : 'bar',
      x: pad.left + i * step + step * 0.1,
      y: top,
      width: Math.max(step * 0.8, 1),
      height: Math.max(y(0) - top, 0),
    });
    rect.append(svg('title', {}, `${b.label}: ${b.value}`));
    root.append(rect);
  });
  const every = Math.max(1, Math.ceil(bars.length / 6));
  bars.forEach((b, i) => {
    if (i % every) return;
    root.append(svg('text', { x: pad.left + i * step + step / 2, y: height - 6, 'text-anchor': 'middle' }, b.shortLabel || b.label));
  });
  for (const r of refs) {
    if (r.value == null) continue;
    root.append(svg('line', { class: `ref ${r.kind || ''}`, x1: pad.left, x2: width - pad.right, y1: y(r.value), y2: y(r.value) }));
    root.append(svg('text', { x: width - pad.right, y: y(r.value) - 3, 'text-anchor': 'end' }, r.label));
  }
  return root;
}

function formatTick(v) {
  return v >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 10) / 10);
}
