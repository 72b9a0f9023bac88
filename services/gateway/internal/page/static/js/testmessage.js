// "Send a test message": a message goes to the broker over the bridge's
// own session and comes back; the round-trip time proves the path works.
import { byId, say } from './dom.js';
import { call } from './api.js';
import { clock } from './time.js';

export function setupTestMessage() {
  const button = byId('test-button');
  const result = byId('test-result');
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(result, 'Sending a test message to the broker…');
    try {
      const r = await call('/v1/test-message', { method: 'POST', body: {} });
      const ms = Number(r.round_trip_ms || 0);
      say(result, `${clock(new Date())}: the broker sent the test message back in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms, so messages reach the broker.`, 'ok');
      result.title = `topic ${r.topic}`;
    } catch (err) {
      let words = `${clock(new Date())}: the test message did not come back. ${err.message}`;
      if (err.status === 501) words = 'This version of the bridge cannot send test messages yet.';
      // Refused before it was sent: say only why.
      if (err.status === 401) words = err.message;
      say(result, words, 'bad');
    } finally {
      button.disabled = false;
    }
  });
}
