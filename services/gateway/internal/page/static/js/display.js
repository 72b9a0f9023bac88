// What a tool's screen shows now: the retained messages the broker holds
// for the screen (GET /v1/tools/{id}/display, for a named site's tool
// /v1/sites/{site}/tools/{id}/display), drawn as the small display
// next to the tool would draw them, with the messages themselves below.
import { el, byId, say } from './dom.js';
import { call } from './api.js';
import { clock } from './time.js';

let current = null; // { id, site, name } of the tool shown
let asked = 0; // answers to older requests are dropped

export function setupDisplay() {
  const dialog = byId('screen-dialog');
  byId('screen-close').addEventListener('click', () => dialog.close());
  byId('screen-refresh').addEventListener('click', () => load());
  // A click on the backdrop (outside the box) closes, as Escape does.
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  // The tile that opened the dialog may have been redrawn meanwhile:
  // focus goes back to the same tool's button.
  dialog.addEventListener('close', () => {
    const id = current && current.id;
    const site = (current && current.site) || '';
    current = null;
    asked++;
    const button = document.querySelector(`#tools .tile[data-site="${site}"][data-tool-id="${id}"] .screen-button`);
    if (button) button.focus();
  });
}

// showScreen opens the dialog for tool id of site ('' the default) and
// reads its screen.
export function showScreen(id, name, site = '') {
  current = { id: Number(id), site: site || '', name: name || `Tool ${id}` };
  byId('screen-title').textContent = `What ${current.name}’s screen shows${current.site ? ` (site ${current.site})` : ''}`;
  byId('screen-view').replaceChildren();
  const dialog = byId('screen-dialog');
  if (!dialog.open) dialog.showModal();
  load();
}

async function load() {
  if (!current) return;
  const { id, site, name } = current;
  const mine = ++asked;
  const note = byId('screen-note');
  const view = byId('screen-view');
  const refresh = byId('screen-refresh');
  refresh.disabled = true;
  view.setAttribute('aria-busy', 'true');
  say(note, 'Reading what the broker keeps for this screen…');
  try {
    const path = site
      ? `/v1/sites/${encodeURIComponent(site)}/tools/${encodeURIComponent(id)}/display`
      : `/v1/tools/${encodeURIComponent(id)}/display`;
    const doc = await call(path);
    if (mine !== asked) return;
    view.replaceChildren(...render(doc, name).filter(Boolean));
    say(note, `Read from the broker at ${clock(new Date())}.`);
  } catch (err) {
    if (mine !== asked) return;
    view.replaceChildren();
    say(note, `What the screen shows could not be read. ${err.message}`, 'bad');
  } finally {
    if (mine === asked) {
      refresh.disabled = false;
      view.removeAttribute('aria-busy');
    }
  }
}

// The screen reads plain JSON; a payload it cannot parse is nothing to it.
function parsed(m) {
  try {
    const p = JSON.parse(m.payload_text || '');
    return p && typeof p === 'object' ? p : null;
  } catch {
    return null;
  }
}

const kind = (topic) => String(topic || '').split('/').pop();

function render(doc, name) {
  const messages = [...(doc.messages || [])].sort((a, b) => a.topic.localeCompare(b.topic));
  const bridge = presence(doc.server_status);
  if (!messages.length) {
    return [
      el('p', { class: 'screen-empty' },
        'Nothing is retained for this tool’s screen: either the displays profile is off, or nothing was published for this tool yet. ',
        'Start the bridge with DISPLAYS=1 to publish what screens read.'),
      el('p', { class: 'quiet' }, `The bridge’s status for the screens (nemo/server/status): ${bridge.sentence}`),
    ];
  }
  const by = {};
  const unreadable = [];
  for (const m of messages) {
    const p = parsed(m);
    if (p) by[kind(m.topic)] = p;
    else unreadable.push(m.topic);
  }
  return [
    picture(by, name, bridge),
    unreadable.length
      ? el('p', { class: 'note', dataset: { tone: 'bad' } }, `The screen cannot read ${unreadable.join(', ')}: not JSON.`)
      : null,
    el('details', { class: 'detail screen-raw' },
      el('summary', {}, `The retained messages (${messages.length})`),
      el('ol', { class: 'raw-messages' }, messages.map((m) => {
        const p = parsed(m);
        return el('li', {},
          el('code', {}, m.topic),
          el('pre', { tabindex: '0' }, p ? JSON.stringify(p, null, 2) : (m.payload_text || '(binary payload)')));
      })),
      el('p', { class: 'quiet' }, `nemo/server/status: ${doc.server_status || '(nothing retained)'}`)),
  ];
}

function presence(status) {
  switch (status) {
    case 'online': return { state: 'online', icon: '●', word: 'Online', sentence: 'online.' };
    case 'offline': return { state: 'offline', icon: '✕', word: 'Offline', sentence: 'offline: the screens show the bridge as down.' };
    case '': case undefined: case null:
      return { state: 'unknown', icon: '?', word: 'No status', sentence: 'nothing is retained, so the screens cannot tell whether the bridge is up.' };
  }
  return { state: 'unknown', icon: '?', word: String(status), sentence: `“${status}”.` };
}

// What the screen says in big words, from the status message.
function stateOf(status) {
  if (!status) return { state: 'unknown', icon: '–', word: 'No status yet' };
  if (status.event_type === 'active' || status.in_use === true) return { state: 'in-use', icon: '●', word: 'In use' };
  if (status.event_type === 'enabled') return { state: 'free', icon: '○', word: 'Available' };
  if (status.event_type === 'disabled') return { state: 'disabled', icon: '■', word: 'Disabled' };
  return { state: 'unknown', icon: '?', word: String(status.event_type || 'Unknown') };
}

// The open tasks as the screen lists them: the whole list when the bridge
// sends one, else the last task message unless it clears the task.
function tasksOf(by) {
  if (by.tasks && Array.isArray(by.tasks.tasks)) return by.tasks.tasks;
  const t = by.task;
  if (t && (String(t.task_summary || '').trim() || String(t.problem_description || '').trim())) return [t];
  return [];
}

function picture(by, name, bridge) {
  const status = by.status;
  const operational = by.operational;
  const tool = (status && status.tool_name) || (operational && operational.tool_name) || name;
  const state = stateOf(status);
  const down = operational && operational.operational === false;
  const tasks = tasksOf(by);
  const line = (label, value) => (value ? el('div', {}, el('dt', {}, label), el('dd', {}, value)) : null);

  return el('figure', { class: 'device' },
    el('div', { class: 'screen', dataset: { state: state.state, down: down ? 'yes' : 'no' } },
      el('div', { class: 'screen-top' },
        el('span', { class: 'screen-tool' }, tool),
        el('span', { class: 'screen-bridge', dataset: { state: bridge.state } },
          el('span', { 'aria-hidden': 'true' }, bridge.icon), ' ', el('span', { class: 'visually-hidden' }, 'Bridge '), bridge.word)),
      el('p', { class: 'screen-state' }, el('span', { 'aria-hidden': 'true' }, state.icon), ' ', state.word),
      down ? el('p', { class: 'screen-down' }, el('span', { 'aria-hidden': 'true' }, '✕'), ' Shut down') : null,
      status ? el('dl', { class: 'screen-lines' },
        line(status.user_label || 'User', status.user_name),
        line(status.time_label || 'Since', status.timestamp)) : null,
      tasks.length
        ? el('ul', { class: 'screen-tasks', 'aria-label': 'Open tasks' }, tasks.map((t) => el('li', { dataset: { shutdown: t.force_shutdown ? 'yes' : 'no' } },
          el('span', { 'aria-hidden': 'true' }, t.force_shutdown ? '✕' : '⚠'), ' ',
          t.force_shutdown ? el('span', { class: 'visually-hidden' }, 'Shutdown task: ') : null,
          summary(t))), more(by.tasks, tasks.length))
        : null),
    el('figcaption', { class: 'quiet' }, `${tool}’s screen (320 × 240) as it would draw the retained messages now.`));
}

// more says how many open tasks the screen's list leaves out (it holds
// only the newest that fit 240 bytes), as a screen would: "+9 more".
function more(list, shown) {
  const open = list && typeof list.open === 'number' ? list.open : shown;
  return open > shown ? el('li', { class: 'screen-more' }, `+${open - shown} more`) : null;
}

function summary(t) {
  const text = String(t.task_summary || '').trim() || String(t.problem_description || '').trim().split('\n')[0];
  return text || `Task ${t.task_id || ''}`.trim();
}
