// Follow a server-sent-event stream (read with fetch: EventSource cannot send the bearer
// token), opening it again after a pause when it is lost, and say so in a status line.

import { readStream, SignedOut } from './api.js';
import { clock, h } from './ui.js';

const RETRY_MS = [1000, 2000, 5000, 10000];

/** The status line a live page shows: "Connecting…", "Live · updated 12:00:01", … */
export function liveStatus() {
  return h('p', { class: 'live', role: 'status', dataset: { state: 'connecting' } }, h('span', { class: 'dot' }), 'Connecting…');
}

function say(status, state, text) {
  status.dataset.state = state;
  status.lastChild.textContent = text;
}

/**
 * Read `path` until `signal` aborts: onEvent(name, data) for each event, then the status line
 * shows the time asOf(data) names (or now). Returns when the page goes away or the session ends.
 */
export async function follow(path, onEvent, { signal, status, asOf = () => null }) {
  let attempt = 0;
  while (!signal.aborted) {
    try {
      await readStream(path, (name, data) => {
        attempt = 0;
        if (onEvent(name, data) === false) return;
        say(status, 'live', `Live · updated ${clock(asOf(data) || new Date().toISOString())}`);
      }, signal);
    } catch (err) {
      if (signal.aborted || err instanceof SignedOut) return;
    }
    if (signal.aborted) return;
    say(status, 'reconnecting', 'Connection lost: reconnecting…');
    await pause(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)], signal);
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
