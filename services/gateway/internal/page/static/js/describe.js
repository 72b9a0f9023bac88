// describe says in words what a message sent to the broker means, e.g.
// "Alice Martin started using Raith EBL". toolName(id) gives the name the
// page knows for a tool, when the payload does not carry one.

export function payloadOf(message) {
  if (!message.payload_text) return null;
  try {
    const p = JSON.parse(message.payload_text);
    // A signed envelope carries the event as a JSON string.
    if (p && typeof p.payload === 'string' && p.hmac) return JSON.parse(p.payload);
    return p;
  } catch {
    return null;
  }
}

// person drops NEMO's role suffix: "Alice Martin (staff)" → "Alice Martin".
function person(p) {
  const name = String(p.user_name || p.user || '').replace(/\s*\([^)]*\)\s*$/, '').trim();
  return name || '';
}

function quote(text) {
  const t = String(text || '').trim();
  return t ? `: “${t}”` : '';
}

export function describe(message, toolName = () => '') {
  const p = payloadOf(message);
  const id = message.tool_id || (p && (p.tool_id ?? p.id)) || 0;
  const tool = (p && (p.tool_name || p.name)) || toolName(id) || (id ? `tool ${id}` : 'a tool');
  if (!p || typeof p !== 'object') {
    if (message.payload_text === 'online') return 'The bridge says it is online';
    if (message.payload_text === 'offline') return 'The bridge says it is offline';
    return `Message on ${message.topic}`;
  }
  const who = person(p);
  switch (p.event) {
    case 'tool_enabled':
    case 'tool_usage_start':
      return who ? `${who} started using ${tool}` : `Someone started using ${tool}`;
    case 'tool_disabled':
    case 'tool_usage_end':
      return who ? `${who} stopped using ${tool}` : `${tool} is free again`;
    case 'tool_operational':
      return `${tool} is working again (operational)`;
    case 'tool_non_operational':
      return `${tool} was shut down (not operational)`;
    case 'task_created':
      return p.force_shutdown
        ? `A problem was reported on ${tool} and it was shut down${quote(p.problem_description)}`
        : `A problem was reported on ${tool}${quote(p.problem_description)}`;
    case 'task_updated':
      if (p.resolved) return `The problem on ${tool} was resolved`;
      if (p.cancelled) return `The problem report on ${tool} was cancelled`;
      return `The problem report on ${tool} was updated${quote(p.problem_description)}`;
    case 'task_shutdown':
      // The plugin's name for a safety hazard too, which shuts nothing down.
      return p.force_shutdown
        ? `${tool} was shut down for a problem${quote(p.problem_description)}`
        : `A safety hazard was reported on ${tool}${quote(p.problem_description)}`;
    case 'task_resolved':
      return `The problem on ${tool} was resolved`;
    case 'task_cancelled':
    case 'task_cleared':
      return `The problem report on ${tool} was cancelled`;
    case 'tool_created':
      return `${tool} was added in NEMO`;
    case 'tool_updated':
      return `${tool} was changed in NEMO`;
  }
  if (!p.event && 'in_use' in p && 'last_event' in p) return `Current state of ${tool}: ${stateWords(p)}`;
  if (!p.event && p.event_type) return `Display of ${tool}: ${displayWords(p)}`;
  if (!p.event && typeof p.operational === 'boolean') {
    return p.operational ? `Display of ${tool}: working` : `Display of ${tool}: shut down`;
  }
  if (!p.event && Array.isArray(p.tasks)) {
    // The list holds the newest tasks that fit a screen; open counts them all.
    const n = typeof p.open === 'number' ? p.open : p.tasks.length;
    return `Display of ${tool}: ${n ? `${n} open ${n === 1 ? 'task' : 'tasks'}` : 'no open task'}`;
  }
  if (p.event) return `${humanize(p.event)} (${tool})`;
  return `Message on ${message.topic}`;
}

// stateWords reads the retained state snapshot (the Tool as JSON).
function stateWords(t) {
  const parts = [];
  if (t.shutdown || t.operational === false) parts.push('shut down');
  if (t.in_use) parts.push(t.user ? `in use by ${person(t)}` : 'in use');
  else parts.push('free');
  const tasks = (t.open_tasks || []).length;
  if (tasks) parts.push(tasks === 1 ? '1 problem reported' : `${tasks} problems reported`);
  return parts.join(', ');
}

function displayWords(p) {
  const who = person(p);
  switch (p.event_type) {
    case 'active': return who ? `in use by ${who}` : 'in use';
    case 'enabled': return 'free';
    case 'disabled': return 'disabled';
  }
  return humanize(p.event_type);
}

// humanize: "reservation_created" → "Reservation created".
export function humanize(name) {
  const words = String(name).replace(/[_-]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'Event';
}
