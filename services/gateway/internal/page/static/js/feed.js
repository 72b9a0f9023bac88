// The live feed of messages sent to the broker: newest on top, filter by
// tool or topic, pause, and each message's topic and payload on expand.
import { el, byId } from './dom.js';
import { parse, clock } from './time.js';
import { describe, payloadOf } from './describe.js';
import { toolName, toolKey, siteWords } from './tools.js';

const KEEP = 200; // messages kept in the page
const seen = new Set();
let paused = false;
let held = []; // arrived while paused, newest first
let problem = '';

export function setupFeed() {
  byId('feed-pause').addEventListener('click', () => {
    paused = !paused;
    if (!paused) {
      const batch = held;
      held = [];
      show(batch);
    }
    renderPause();
  });
  byId('feed-tool').addEventListener('change', applyFilter);
  byId('feed-topic').addEventListener('input', applyFilter);
  note();
}

const key = (m) => `${m.sent_at}|${m.event_id}|${m.topic}`;

// addMessages takes messages newest first; ones already shown are skipped,
// so the live stream and polling can both feed it.
export function addMessages(messages) {
  problem = '';
  const fresh = (messages || []).filter((m) => !seen.has(key(m)));
  for (const m of fresh) seen.add(key(m));
  if (paused) {
    held = [...fresh, ...held].slice(0, KEEP);
    renderPause();
    return;
  }
  show(fresh);
}

function show(fresh) {
  const list = byId('feed');
  // Oldest first, each on top: the newest ends up first.
  for (const m of [...fresh].reverse()) list.prepend(item(m));
  while (list.children.length > KEEP) {
    seen.delete(list.lastElementChild.dataset.key);
    list.lastElementChild.remove();
  }
  applyFilter();
}

function item(m) {
  const sent = parse(m.sent_at);
  const payload = payloadOf(m);
  const site = m.site || '';
  const nameOf = (id) => toolName(id, site);
  const name = nameOf(m.tool_id) || (payload && payload.tool_name) || (m.tool_id ? `Tool ${m.tool_id}` : '');
  const flags = [`QoS ${m.qos}`];
  if (m.retain) flags.push('retained');
  if (m.expiry_seconds) flags.push(`expires after ${m.expiry_seconds} s`);
  // The retained state snapshot repeats what the event said: shown quieter.
  const snapshot = payload && !payload.event && 'in_use' in payload && 'last_event' in payload;
  // A named site's messages say their site, beside the tool's name.
  return el('li', { class: snapshot ? 'message snapshot' : 'message', dataset: { key: key(m), toolId: m.tool_id || 0, site, topic: m.topic } },
    el('details', {},
      el('summary', {},
        el('time', { class: 'message-time', datetime: sent ? sent.toISOString() : null }, sent ? clock(sent) : '—'),
        el('span', { class: 'message-tool' }, name || 'No tool',
          site ? el('span', { class: 'message-site' }, siteWords(site)) : null),
        el('span', { class: 'message-words' }, describe(m, nameOf))),
      el('div', { class: 'message-body' },
        site ? el('p', {}, `From NEMO ${siteWords(site)}`) : null,
        el('p', {}, 'Topic ', el('code', {}, m.topic), ` · ${flags.join(' · ')}`),
        m.event_id ? el('p', { class: 'quiet' }, `Event ${m.event_id}`) : null,
        el('pre', { tabindex: '0' }, payload ? JSON.stringify(payload, null, 2) : (m.payload_text || '(binary payload)')))));
}

// setToolChoices fills the tool filter with the tools the page knows,
// each { site, id, name }. An option's value is the tool's key: "12" for
// the default site's tool 12, "north/12" for north's; a named site's
// label says the site, so that two sites' tool 12 read apart.
export function setToolChoices(tools) {
  const select = byId('feed-tool');
  const chosen = select.value;
  const label = (t) => (t.site ? `${t.name} (#${t.id}, ${siteWords(t.site)})` : `${t.name} (#${t.id})`);
  const options = [...tools].map((t) => ({ value: toolKey(t.id, t.site), text: label(t) }))
    .sort((a, b) => a.text.localeCompare(b.text))
    .map((o) => el('option', { value: o.value }, o.text));
  select.replaceChildren(el('option', { value: '' }, 'All tools'), ...options);
  select.value = chosen;
  if (select.value !== chosen) select.value = '';
}

function applyFilter() {
  const tool = byId('feed-tool').value;
  const topic = byId('feed-topic').value.trim();
  let visible = 0;
  for (const li of byId('feed').children) {
    const show = (!tool || toolKey(li.dataset.toolId, li.dataset.site) === tool) && topicMatches(topic, li.dataset.topic);
    li.hidden = !show;
    if (show) visible++;
  }
  note(visible);
}

// topicMatches reads an MQTT filter (+ one level, # the rest) when the
// text has one, else looks for the text anywhere in the topic.
export function topicMatches(filter, topic) {
  if (!filter) return true;
  if (!/[+#]/.test(filter)) return topic.toLowerCase().includes(filter.toLowerCase());
  const want = filter.split('/');
  const got = topic.split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return true;
    if (i >= got.length || (want[i] !== '+' && want[i] !== got[i])) return false;
  }
  return want.length === got.length;
}

function renderPause() {
  const button = byId('feed-pause');
  button.setAttribute('aria-pressed', String(paused));
  button.textContent = paused ? (held.length ? `Resume (${held.length} new)` : 'Resume') : 'Pause';
  note();
}

function note(visible) {
  const node = byId('feed-note');
  const total = byId('feed').children.length;
  visible ??= [...byId('feed').children].filter((li) => !li.hidden).length;
  let text;
  if (problem) text = `The feed could not be refreshed: ${problem}`;
  else if (!total) text = 'No message sent yet.';
  else if (visible === total) text = `The last ${total} ${total === 1 ? 'message' : 'messages'}, newest first.`;
  else text = `${visible} of the last ${total} messages match the filter.`;
  if (paused) text += ' Paused: new messages wait until you resume.';
  node.textContent = text;
  if (problem) node.dataset.tone = 'bad';
  else delete node.dataset.tone;
}

// feedProblem shows why the feed could not be refreshed; '' clears it.
export function feedProblem(words) {
  problem = words;
  note();
}
