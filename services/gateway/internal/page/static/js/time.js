// When things happened, for people: "10:03" today, "Nov 24, 10:03" before,
// and "5 minutes ago".

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// parse reads a protobuf JSON timestamp; null, empty and the zero time
// (1970) are "unknown".
export function parse(value) {
  if (!value) return null;
  const t = new Date(value);
  return isNaN(t) || t.getTime() <= 0 ? null : t;
}

export function absolute(t, now = new Date()) {
  const sameDay = t.toDateString() === now.toDateString();
  const opts = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  if (t.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return t.toLocaleString(undefined, opts);
}

// clock is the time of day with seconds, for the feed.
export function clock(t) {
  return t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function ago(t, now = new Date()) {
  const seconds = Math.round((t - now) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [4.35, 'week'], [12, 'month']];
  let amount = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(amount) < size) {
      if (unit === 'second') return Math.abs(amount) < 10 ? 'just now' : relative.format(amount, unit);
      return relative.format(Math.round(amount), unit);
    }
    amount /= size;
  }
  return relative.format(Math.round(amount), 'year');
}

// when is "10:03 (5 minutes ago)" in a <time> element.
export function when(t, now = new Date()) {
  const node = document.createElement('time');
  node.dateTime = t.toISOString();
  node.title = t.toLocaleString();
  node.textContent = `${absolute(t, now)} (${ago(t, now)})`;
  return node;
}
