// Wires the page together: the live data goes to the sections that show it.
import { byId } from './dom.js';
import { connect } from './live.js';
import { renderHealth, renderUnreachable } from './health.js';
import { setupTools, updateTools, toolsProblem } from './tools.js';
import { setupFeed, addMessages, setToolChoices, feedProblem } from './feed.js';
import { setupDeadLetters } from './deadletters.js';
import { setupTestMessage } from './testmessage.js';
import { setupDisplay } from './display.js';
import { clock } from './time.js';

const MODES = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Updating every 5 seconds',
  offline: 'Cannot reach the gateway; retrying',
};

let lastUpdate = null;
let mode = 'connecting';

function showConnection() {
  const node = byId('connection');
  node.dataset.mode = mode;
  node.textContent = MODES[mode] + (lastUpdate && mode !== 'live' ? ` · last update ${clock(lastUpdate)}` : '');
}

setupTools(setToolChoices);
setupFeed();
setupDeadLetters();
setupTestMessage();
setupDisplay();

connect({
  health(h) {
    lastUpdate = new Date();
    renderHealth(h);
    showConnection();
  },
  tools: updateTools,
  messages: addMessages,
  problem(p) {
    const words = p.code === 'ok' ? '' : p.message;
    if (p.about === 'tools') toolsProblem(words);
    if (p.about === 'messages') feedProblem(words);
    if (p.about === 'health' && words) renderUnreachable(words);
  },
  unreachable: renderUnreachable,
  mode(m) {
    mode = m;
    showConnection();
  },
});

// Say when the page stops hearing from the gateway, even if no request fails.
setInterval(() => {
  if (lastUpdate && Date.now() - lastUpdate > 15_000 && mode === 'live') {
    renderUnreachable(`This page has heard nothing from the bridge since ${clock(lastUpdate)}; what it shows may be out of date.`);
  }
}, 5_000);
