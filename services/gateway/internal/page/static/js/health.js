// The top of the page: the sentence, the flow from NEMO to the displays
// with each step's state, and the technical detail.
import { el, byId } from './dom.js';
import { parse, absolute, ago } from './time.js';

// The steps of the flow. hop names the step in GetHealth's answer; NEMO
// and the displays are outside the bridge, which cannot check them.
const STEPS = [
  { name: 'NEMO', role: 'writes what happens to the tools' },
  { name: 'Redis', hop: 'redis', role: 'keeps the events until they are sent' },
  { name: 'Ingest', hop: 'ingest', role: 'reads the events' },
  { name: 'Router', hop: 'router', role: 'turns them into messages' },
  { name: 'Publisher', hop: 'publisher', role: 'sends the messages' },
  { name: 'MQTT broker', hop: 'broker', role: 'hands them to the displays' },
  { name: 'Displays', role: 'show each tool’s state' },
];

const LABEL = {
  ok: { icon: '✓', text: 'Working' },
  bad: { icon: '✕', text: 'Not working' },
  unknown: { icon: '?', text: 'Unknown' },
  outside: { icon: '–', text: 'Not checked by the bridge' },
};

const perMinute = (perSecond) => Math.round((perSecond || 0) * 60);
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

export function waiting(h) {
  return Number(h.backlog || 0) + Number(h.in_flight || 0);
}

// renderHealth draws a GetHealth answer.
export function renderHealth(h) {
  const warnings = h.warnings || [];
  const verdict = byId('verdict');
  // Every hop works, but something around the bridge makes displays miss
  // events (the sentence then says what): not a green tick.
  verdict.dataset.state = !h.healthy ? 'bad' : warnings.length ? 'warn' : 'ok';
  byId('verdict-icon').textContent = h.healthy && !warnings.length ? '✓' : '!';
  const summary = byId('summary');
  if (summary.textContent !== h.summary) summary.textContent = h.summary;
  // A sentence that explains a problem runs long: smaller, still big.
  summary.dataset.long = String(h.summary.length > 110);
  // The warnings the sentence does not already say.
  const more = warnings.filter((w) => w.summary !== h.summary);
  const list = byId('warnings');
  list.hidden = more.length === 0;
  list.replaceChildren(...more.map((w) => el('li', { class: 'warning', dataset: { code: w.code } },
    el('span', { class: 'icon', 'aria-hidden': 'true' }, '!'), ' ', w.summary)));

  const hops = new Map((h.hops || []).map((hop) => [hop.name, hop]));
  const inPerMin = perMinute(h.events_in_per_second);
  const outPerMin = perMinute(h.messages_out_per_second);
  const wait = waiting(h);
  const numbers = {
    NEMO: `${count(inPerMin, 'event', 'events')} a minute`,
    Redis: `${count(wait, 'event', 'events')} waiting`,
    Ingest: `${count(inPerMin, 'event', 'events')} a minute in`,
    Publisher: `${count(outPerMin, 'message', 'messages')} a minute out`,
    'MQTT broker': `${count(outPerMin, 'message', 'messages')} a minute`,
  };
  byId('flow').replaceChildren(...STEPS.map((step) => {
    const hop = step.hop ? hops.get(step.hop) : null;
    const state = !step.hop ? 'outside' : !hop ? 'unknown' : hop.healthy ? 'ok' : 'bad';
    const label = LABEL[state];
    return el('li', { class: 'step', dataset: { state, hop: step.hop || '' } },
      el('h3', { class: 'step-name' }, step.name),
      el('p', { class: 'step-state' }, el('span', { class: 'icon', 'aria-hidden': 'true' }, label.icon), ' ', label.text),
      el('p', { class: 'step-summary' }, hop ? sentence(hop.summary) : sentence(step.role)),
      numbers[step.name] ? el('p', { class: 'step-numbers' }, numbers[step.name]) : null,
    );
  }));

  const rates = [`${count(inPerMin, 'event', 'events')} a minute from NEMO`, `${count(outPerMin, 'message', 'messages')} a minute to the displays`, `${count(wait, 'event', 'events')} waiting`];
  if (wait > 0 && h.lag_seconds > 0) rates.push(`the oldest for ${Math.round(h.lag_seconds)} s`);
  byId('rates').textContent = rates.join(' · ');

  const now = new Date();
  byId('hop-details').replaceChildren(...(h.hops || []).flatMap((hop) => {
    const since = parse(hop.since);
    return [
      el('dt', {}, `${hop.name}: ${hop.healthy ? 'working' : 'not working'}${since ? `, since ${absolute(since, now)} (${ago(since, now)})` : ''}`),
      el('dd', {}, hop.detail || 'No detail.'),
    ];
  }), warnings.flatMap((w) => [el('dt', {}, `warning: ${w.code}`), el('dd', {}, w.detail || 'No detail.')]),
  el('dt', {}, 'rules in force'), el('dd', {}, h.rules_version ? `version ${h.rules_version}` : 'unknown (the router does not answer)'));
}

// renderUnreachable says that the page itself lost the gateway.
export function renderUnreachable(words) {
  byId('verdict').dataset.state = 'unknown';
  byId('verdict-icon').textContent = '?';
  const summary = byId('summary');
  if (summary.textContent !== words) summary.textContent = words;
  for (const step of byId('flow').querySelectorAll('.step[data-hop]:not([data-hop=""])')) {
    step.dataset.state = 'unknown';
    step.querySelector('.step-state').replaceChildren(el('span', { class: 'icon', 'aria-hidden': 'true' }, LABEL.unknown.icon), ' ', LABEL.unknown.text);
  }
}

function sentence(text) {
  const t = String(text || '');
  return t ? t[0].toUpperCase() + t.slice(1) : '';
}
