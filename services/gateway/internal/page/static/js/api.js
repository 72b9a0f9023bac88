// Calls to the gateway's REST API, with failures explained in words.
import { token } from './token.js';

export class Failure extends Error {
  constructor(status, words, serverMessage = '') {
    super(words);
    this.status = status;
    this.serverMessage = serverMessage;
  }
}

// call sends a request and returns the decoded JSON answer; it throws a
// Failure whose message a lab manager can read.
export async function call(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new Failure(0, 'This page cannot reach the bridge’s gateway: it may be stopped, or the network is down. The page keeps trying.');
  }
  let doc = null;
  try { doc = await resp.json(); } catch { /* not JSON: explained below */ }
  if (resp.ok) return doc ?? {};
  const message = (doc && doc.message) || '';
  throw new Failure(resp.status, explain(resp.status, message, Boolean(t)), message);
}

function explain(status, message, hadToken) {
  switch (status) {
    case 401:
      return hadToken
        ? 'The admin token you typed is not the right one. Check it and try again.'
        : 'This needs the admin token. Type it in the “Admin token” field, under Refused events, and try again (`make run` prints it when it starts; a gateway given none logs the one it made).';
    case 404:
      return message ? `Not found: ${message}` : 'Not found.';
    case 400:
      return message ? `The gateway refused the request: ${message}` : 'The gateway refused the request.';
    case 501:
      return 'This version of the bridge cannot do that yet.';
    case 503:
      return message ? `The bridge cannot answer right now: ${message}` : 'The bridge cannot answer right now; try again in a moment.';
    case 504:
      return 'The bridge took too long to answer; try again in a moment.';
  }
  return message ? `Something went wrong (${status}): ${message}` : `Something went wrong (error ${status}).`;
}
