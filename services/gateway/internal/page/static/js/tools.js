// A tile per tool, with search and filters. update() takes the whole list
// (every tool), as /v1/live and /v1/tools give it.
import { el, byId } from './dom.js';
import { parse, when } from './time.js';
import { humanize } from './describe.js';
import { showScreen } from './display.js';

let tools = [];
let problem = '';
const names = new Map();
let onNames = () => {};

export function toolName(id) {
  return names.get(Number(id)) || '';
}

// setup wires the search and filters; namesChanged is told when the set
// of known tools changes (for the feed's tool filter).
export function setupTools(namesChanged) {
  onNames = namesChanged;
  for (const id of ['tool-search', 'only-in-use', 'only-problems']) {
    byId(id).addEventListener('input', render);
  }
  // Relative times ("5 minutes ago") age even when nothing changes.
  setInterval(render, 30_000);
}

export function updateTools(list) {
  problem = '';
  tools = [...(list || [])].sort((a, b) => (a.name || '').localeCompare(b.name || '') || a.id - b.id);
  let changed = tools.length !== names.size;
  for (const t of tools) {
    const name = t.name || `Tool ${t.id}`;
    if (names.get(t.id) !== name) changed = true;
    names.set(t.id, name);
  }
  if (changed) onNames(names);
  render();
}

const STARTS = new Set(['tool_enabled', 'tool_usage_start']);

const PAST = {
  tool_enabled: 'started being used', tool_usage_start: 'started being used',
  tool_disabled: 'stopped being used', tool_usage_end: 'stopped being used',
  tool_operational: 'put back in operation', tool_non_operational: 'shut down',
  task_created: 'problem reported', task_updated: 'problem report updated', task_shutdown: 'shutdown or safety hazard reported',
  tool_created: 'added in NEMO', tool_updated: 'changed in NEMO',
};

function matches(t, query) {
  if (byId('only-in-use').checked && !t.in_use) return false;
  if (byId('only-problems').checked && !(t.problematic || t.shutdown || !t.operational)) return false;
  if (!query) return true;
  return [t.name, t.user, t.last_user, String(t.id), `#${t.id}`].some((s) => (s || '').toLowerCase().includes(query));
}

function render() {
  const query = byId('tool-search').value.trim().toLowerCase();
  const shown = tools.filter((t) => matches(t, query));
  const note = byId('tools-note');
  if (problem) {
    note.textContent = `The tool list could not be refreshed: ${problem}`;
    note.dataset.tone = 'bad';
  } else if (!tools.length) note.textContent = 'No tool yet: a tool appears here after NEMO’s first event about it.';
  else if (shown.length === tools.length) note.textContent = count(tools.length);
  else note.textContent = `${shown.length} of ${count(tools.length)} shown`;
  if (!problem) delete note.dataset.tone;
  const now = new Date();
  // Tiles are redrawn on every update: keyboard focus on a tile's button
  // moves to the same tool's new button.
  const focused = document.activeElement && document.activeElement.closest('#tools .tile');
  byId('tools').replaceChildren(...shown.map((t) => tile(t, now)));
  if (focused) {
    const again = byId('tools').querySelector(`.tile[data-tool-id="${focused.dataset.toolId}"] .screen-button`);
    if (again) again.focus();
  }
}

const count = (n) => `${n} ${n === 1 ? 'tool' : 'tools'}`;

function tile(t, now) {
  const down = t.shutdown || !t.operational;
  const state = down ? 'down' : t.in_use ? 'in-use' : 'free';
  const badges = [];
  if (down) badges.push(badge('down', '✕', 'Shut down'));
  if (t.in_use) badges.push(badge('in-use', '●', 'In use'));
  else if (!down) badges.push(badge('free', '○', 'Free'));
  if (t.problematic) badges.push(badge('problem', '⚠', t.open_tasks?.length > 1 ? `${t.open_tasks.length} problems reported` : 'Problem reported'));

  // A usage event without its start time: the event's own time is when.
  const since = parse(t.in_use_since) || (STARTS.has(t.last_event) ? parse(t.last_event_at) : null);
  // user names only who uses the tool now; last_user who used it last
  // (a state stored before last_user existed still has the name in user).
  const lastUser = t.last_user || t.user;
  const usage = t.in_use
    ? el('p', { class: 'usage' }, 'By ', el('strong', {}, t.user || 'someone'), since ? [' since ', when(since, now)] : null)
    : lastUser ? el('p', { class: 'usage quiet' }, 'Last used by ', lastUser) : null;

  const tasks = (t.open_tasks || []).map((task) => el('li', { class: 'task' },
    el('span', { class: 'icon', 'aria-hidden': 'true' }, task.force_shutdown ? '✕' : '⚠'), ' ',
    task.force_shutdown ? 'Shut down: ' : task.safety_hazard ? 'Safety hazard: ' : 'Problem: ',
    task.problem_description || 'no description given',
    parse(task.created_at) ? [' — reported ', when(parse(task.created_at), now)] : null));

  const lastAt = parse(t.last_event_at);
  const last = t.last_event
    ? el('p', { class: 'last' }, 'Last change: ', PAST[t.last_event] || humanize(t.last_event), lastAt ? [', ', when(lastAt, now)] : null)
    : null;

  const name = t.name || `Tool ${t.id}`;
  return el('li', { class: 'tile', dataset: { state, toolId: t.id, problem: t.problematic ? 'yes' : 'no' } },
    el('h3', { class: 'tile-name', id: `tool-name-${t.id}` }, name, ' ', el('span', { class: 'tool-id' }, `#${t.id}`)),
    el('p', { class: 'badges' }, badges),
    usage,
    tasks.length ? el('ul', { class: 'tasks' }, tasks) : null,
    last,
    el('button', { type: 'button', class: 'screen-button', 'aria-describedby': `tool-name-${t.id}`, 'aria-haspopup': 'dialog', onclick: () => showScreen(t.id, name) },
      'What its screen shows'));
}

function badge(kind, icon, text) {
  return el('span', { class: 'badge', dataset: { kind } }, el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ' ', text);
}

// toolsProblem shows why the list could not be refreshed; '' clears it.
export function toolsProblem(words) {
  problem = words;
  render();
}
