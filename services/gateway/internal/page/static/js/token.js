// The admin token lives in this tab's sessionStorage only: it is gone
// when the tab closes, and never written into the page's address.
const KEY = 'nemo-bridge-admin-token';

export function token() {
  try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch { /* storage off: the field still works for this page */ }
}
