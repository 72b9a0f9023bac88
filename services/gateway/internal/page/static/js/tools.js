// A tile per tool, with search and filters. update() takes the whole list
// (every tool of every site), as /v1/live and /v1/tools give it.
//
// A tool is known by its site and its id: two NEMO sites may each have a
// tool 12. Tools of a named site carry `site`; the default site's do not.
// When any tool has a site, the tiles are grouped under a heading per
// site; with the default site alone the page shows one list, as before
// sites existed.
import { el, byId } from './dom.js';
import { parse, when } from './time.js';
import { humanize } from './describe.js';
import { showScreen } from './display.js';

let tools = [];
let problem = '';
// Every tool the page has seen, by toolKey: { site, id, name }.
const names = new Map();
let onNames = () => {};

// toolKey tells one site's tool from another's: "12" for the default
// site's tool 12, "north/12" for north's.
export function toolKey(id, site = '') {
  return site ? `${site}/${Number(id)}` : String(Number(id));
}

// toolName is the name the page knows for tool id of site ('' the default).
export function toolName(id, site = '') {
  const known = names.get(toolKey(id, site));
  return (known && known.name) || '';
}

// siteWords names a site for people: the default site is no site.
export const siteWords = (site) => (site ? `site ${site}` : '');

// setup wires the search and filters; namesChanged is told when the set
// of known tools changes (for the feed's tool filter), with the known
// tools as { site, id, name }.
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
  let changed = false;
  for (const t of tools) {
    const key = toolKey(t.id, t.site || '');
    const name = t.name || `Tool ${t.id}`;
    if (!names.has(key) || names.get(key).name !== name) changed = true;
    names.set(key, { site: t.site || '', id: t.id, name });
  }
  if (changed) onNames([...names.values()]);
  byId('tool-search').placeholder = tools.some((t) => t.site) ? 'Tool, number, person or site' : 'Tool, number or person';
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
  return [t.name, t.user, t.last_user, String(t.id), `#${t.id}`, t.site, siteWords(t.site)].some((s) => (s || '').toLowerCase().includes(query));
}

// groups puts the tools shown under their site, named sites by name and
// the default site's last; [] when no tool has a site (no heading then).
function groups(shown) {
  if (!tools.some((t) => t.site)) return [];
  const by = new Map();
  for (const t of tools) if (!by.has(t.site || '')) by.set(t.site || '', []);
  for (const t of shown) by.get(t.site || '').push(t);
  const sites = [...by.keys()].filter(Boolean).sort((a, b) => a.localeCompare(b));
  if (by.has('')) sites.push('');
  return sites.map((site) => ({ site, all: tools.filter((t) => (t.site || '') === site).length, shown: by.get(site) }))
    .filter((g) => g.shown.length);
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
  const grouped = groups(shown);
  byId('tools').replaceChildren(...(grouped.length
    ? grouped.map((g) => siteGroup(g, now))
    : shown.map((t) => tile(t, now, 'h3'))));
  if (focused) {
    const again = tileOf(focused.dataset.toolId, focused.dataset.site);
    if (again) again.querySelector('.screen-button').focus();
  }
}

// tileOf finds the tile of tool id of site ('' the default). Site names
// hold only letters, digits, '-' and '_', safe in a selector as written.
function tileOf(id, site = '') {
  return byId('tools').querySelector(`.tile[data-site="${site || ''}"][data-tool-id="${Number(id)}"]`);
}

// siteGroup is one site's tiles under a heading with the site's name; it
// spans the whole width of the tiles' grid.
function siteGroup(g, now) {
  const headingId = g.site ? `site-heading-${g.site}` : 'site-heading';
  const counted = g.shown.length === g.all ? count(g.all) : `${g.shown.length} of ${count(g.all)} shown`;
  return el('li', { class: 'site-group', dataset: { site: g.site } },
    el('h3', { class: 'site-heading', id: headingId },
      g.site
        ? [el('span', { class: 'site-label' }, 'Site '), el('span', { class: 'site-name' }, g.site)]
        : el('span', { class: 'site-name' }, 'Other tools'),
      ' ', el('span', { class: 'site-count' }, counted)),
    g.site ? null : el('p', { class: 'site-about quiet' }, 'Tools that belong to no named site.'),
    el('ul', { class: 'tiles' }, g.shown.map((t) => tile(t, now, 'h4'))));
}

const count = (n) => `${n} ${n === 1 ? 'tool' : 'tools'}`;

// tile is one tool's; its heading is a level below the site's, if any.
function tile(t, now, heading) {
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
  const site = t.site || '';
  // Unique when two sites have a tool 12: tool-name-12, tool-name-north-12.
  const nameId = site ? `tool-name-${site}-${t.id}` : `tool-name-${t.id}`;
  return el('li', { class: 'tile', dataset: { state, toolId: t.id, site, problem: t.problematic ? 'yes' : 'no' } },
    el(heading, { class: 'tile-name', id: nameId }, name, ' ', el('span', { class: 'tool-id' }, `#${t.id}`),
      site ? el('span', { class: 'visually-hidden' }, `, ${siteWords(site)}`) : null),
    el('p', { class: 'badges' }, badges),
    usage,
    tasks.length ? el('ul', { class: 'tasks' }, tasks) : null,
    last,
    el('button', { type: 'button', class: 'screen-button', 'aria-describedby': nameId, 'aria-haspopup': 'dialog', onclick: () => showScreen(t.id, name, site) },
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
