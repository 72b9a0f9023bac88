// Refused events (dead letters): what was refused and why, and, for
// admins, putting them back into the input (Replay, Replay all).
import { el, byId, say } from './dom.js';
import { call } from './api.js';
import { parse, when } from './time.js';
import { token, setToken } from './token.js';

// What each refusal code means, in words.
const CODES = {
  not_json: 'Not readable: the entry is not valid JSON',
  missing_topic: 'No topic: the entry does not say where it should go',
  invalid_payload: 'The event’s content is not valid',
  payload_too_large: 'Too large to send',
  invalid_qos: 'Unknown delivery level (QoS)',
  invalid_topic: 'The topic is not allowed',
  deleted: 'Gone from Redis before it could be read',
};

const STAGES = { ingest: 'refused on arrival', router: 'refused by the routing rules', publisher: 'refused when sending' };

export function codeWords(code) {
  return CODES[code] || (code ? String(code).replace(/_/g, ' ') : 'Refused');
}

let busy = false;

export function setupDeadLetters() {
  const field = byId('admin-token');
  field.value = token();
  field.addEventListener('input', () => setToken(field.value.trim()));
  byId('replay-all').addEventListener('click', () => replay('/v1/dead-letters:replay', 'every refused event'));
  refresh();
  setInterval(refresh, 10_000);
}

export async function refresh() {
  if (busy) return;
  try {
    render(await call('/v1/dead-letters?limit=50'));
  } catch (err) {
    say(byId('dead-summary'), `The refused events could not be read: ${err.message}`, 'bad');
  }
}

function render(doc) {
  const letters = doc.dead_letters || [];
  const total = Number(doc.total || 0);
  const summary = byId('dead-summary');
  if (!total) say(summary, 'No refused events: every event NEMO wrote could be sent.', 'ok');
  else if (total > letters.length) say(summary, `${total} events were refused; the newest ${letters.length} are below.`, 'bad');
  else say(summary, `${total} ${total === 1 ? 'event was' : 'events were'} refused and not sent.`, 'bad');
  byId('replay-all').disabled = !total;
  const now = new Date();
  byId('dead-letters').replaceChildren(...letters.map((d) => letter(d, now)));
}

function letter(d, now) {
  const failed = parse(d.failed_at);
  return el('li', { class: 'letter', dataset: { id: d.id } },
    el('p', { class: 'letter-what' }, el('span', { class: 'icon', 'aria-hidden': 'true' }, '✕'), ' ', codeWords(d.code)),
    el('p', { class: 'letter-why' }, d.reason || 'No reason given.'),
    el('p', { class: 'quiet' }, [STAGES[d.stage] || (d.stage ? `refused by ${d.stage}` : 'refused'), failed ? [', ', when(failed, now)] : null, ` · code ${d.code || '?'}`]),
    el('details', {}, el('summary', {}, 'The event as NEMO wrote it'), el('pre', { tabindex: '0' }, d.entry || '(empty)')),
    el('button', { type: 'button', class: 'replay', onclick: () => replay(`/v1/dead-letters/${encodeURIComponent(d.id)}:replay`, 'this event') }, 'Replay'));
}

// replay puts letters back into the input; they are read again with the
// rules in force (and refused again if nothing changed).
async function replay(path, what) {
  const note = byId('dead-note');
  busy = true;
  say(note, `Replaying ${what}…`);
  try {
    const resp = await call(path, { method: 'POST', body: {} });
    const n = resp.replayed === undefined ? null : Number(resp.replayed);
    say(note, n === null
      ? 'Replayed: the event is back in the input and will be read again.'
      : `Replayed ${n} ${n === 1 ? 'event' : 'events'}: they are back in the input and will be read again.`, 'ok');
  } catch (err) {
    say(note, `Could not replay ${what}. ${err.message}`, 'bad');
  } finally {
    busy = false;
    refresh();
  }
}
