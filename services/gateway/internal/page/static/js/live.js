// Keeps the page up to date: the live stream (/v1/live, server-sent
// events) when it works, else the REST API every 5 seconds until the
// stream is back.
import { call } from './api.js';

const POLL_EVERY = 5_000;
const RETRY_STREAM_EVERY = 30_000;

// connect calls on.health, on.tools (every tool of every site), on.messages (newest
// first), on.problem ({about, code, message}), on.unreachable(words) and
// on.mode('live' | 'polling' | 'offline').
export function connect(on) {
  let source = null;
  let pollTimer = null;
  let retryTimer = null;

  const startPolling = () => {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, POLL_EVERY);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = null;
  };

  async function poll() {
    try {
      on.health(await call('/v1/health'));
      // The stream may have come back while this poll ran.
      if (pollTimer) on.mode('polling');
    } catch (err) {
      if (err.status === 0) {
        on.unreachable(err.message);
        on.mode('offline');
        return;
      }
      on.problem({ about: 'health', message: err.message, code: String(err.status) });
    }
    try {
      on.tools(await allTools());
      on.problem({ about: 'tools', code: 'ok' });
    } catch (err) {
      on.problem({ about: 'tools', message: err.message, code: String(err.status) });
    }
    try {
      on.messages((await call('/v1/messages?limit=100')).messages || []);
      on.problem({ about: 'messages', code: 'ok' });
    } catch (err) {
      on.problem({ about: 'messages', message: err.message, code: String(err.status) });
    }
  }

  function openStream() {
    clearTimeout(retryTimer);
    if (typeof EventSource === 'undefined') {
      startPolling();
      return;
    }
    source = new EventSource('/v1/live');
    source.addEventListener('open', () => {
      stopPolling();
      on.mode('live');
    });
    const json = (handler) => (ev) => {
      try { handler(JSON.parse(ev.data)); } catch (err) { console.error('live event', ev.type, err); }
    };
    source.addEventListener('health', json(on.health));
    source.addEventListener('tools', json((doc) => on.tools(doc.tools || [])));
    source.addEventListener('messages', json((doc) => on.messages(doc.messages || [])));
    source.addEventListener('problem', json((p) => {
      if (p.code === 'unauthenticated') {
        // Reads need the admin token, which a stream cannot send: poll
        // with it instead.
        source.close();
        startPolling();
        return;
      }
      on.problem({ ...p, message: p.message && `the bridge cannot answer right now: ${p.message}` });
    }));
    source.addEventListener('error', () => {
      // The browser retries by itself while CONNECTING; CLOSED means it
      // gave up (the answer was not a stream), so try again later.
      startPolling();
      if (source.readyState === EventSource.CLOSED) retryTimer = setTimeout(openStream, RETRY_STREAM_EVERY);
    });
  }

  openStream();
}

// allTools reads the tools of the default site and of every named site,
// as the live stream's tools event holds them.
async function allTools() {
  const tools = await siteTools('/v1/tools');
  const { sites = [] } = await call('/v1/sites');
  for (const site of sites) tools.push(...(await siteTools(`/v1/sites/${encodeURIComponent(site.name)}/tools`)));
  return tools;
}

async function siteTools(path) {
  const tools = [];
  let token = '';
  do {
    const page = await call(`${path}?page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
    tools.push(...(page.tools || []));
    token = page.next_page_token || '';
  } while (token);
  return tools;
}
