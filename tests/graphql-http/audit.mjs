// Runs graphql-http's server audits (the GraphQL-over-HTTP specification's MUST, SHOULD and MAY
// checks) against the HPMS server at HPMS_AUDIT_URL, once without credentials and once with the
// bearer token in HPMS_AUDIT_TOKEN, and prints one JSON line per result plus a summary line.
// Exits non-zero only when it cannot run; the Rust test judges the results.
import { auditServer } from 'graphql-http';

const url = process.env.HPMS_AUDIT_URL;
const token = process.env.HPMS_AUDIT_TOKEN;
if (!url) {
  console.error('audit.mjs: set HPMS_AUDIT_URL');
  process.exit(2);
}

const withToken = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const runs = [['anonymous', fetch]];
if (token) runs.push(['signed in', withToken]);
for (const [who, fetchFn] of runs) {
  const results = await auditServer({ url, fetchFn });
  for (const result of results) {
    const line = { who, status: result.status, id: result.id, name: result.name };
    if (result.status !== 'ok') line.reason = result.reason;
    console.log(JSON.stringify(line));
  }
}
