// Introspects the HPMS server at HPMS_CLIENT_URL (bearer token HPMS_CLIENT_TOKEN) with the
// reference implementation's full introspection query (descriptions, @specifiedBy, the schema's
// description, deprecated arguments), prints it as SDL, and compares it line by line with the
// committed schema.graphql printed the same way: one JSON line with the verdict and, if they
// differ, the first line that does. Exits non-zero only when it cannot run.
import { readFileSync } from 'node:fs';
import {
  buildClientSchema, buildSchema, getIntrospectionQuery, printSchema,
} from 'graphql';

const url = process.env.HPMS_CLIENT_URL;
const token = process.env.HPMS_CLIENT_TOKEN;
if (!url || !token) {
  console.error('introspection.mjs: set HPMS_CLIENT_URL and HPMS_CLIENT_TOKEN');
  process.exit(2);
}
const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});
const response = await fetch(url, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
    authorization: `Bearer ${token}`,
  },
  body: JSON.stringify({ query }),
});
const body = await response.json();
if (!body.data) {
  console.error('introspection.mjs: no data:', JSON.stringify(body));
  process.exit(1);
}
const served = printSchema(buildClientSchema(body.data)).split('\n');
const committedFile = new URL('../../schema.graphql', import.meta.url);
const committed = printSchema(buildSchema(readFileSync(committedFile, 'utf8'))).split('\n');
const line = served.findIndex((text, index) => text !== committed[index]);
const differs = line !== -1 || served.length !== committed.length;
const at = line === -1 ? Math.min(served.length, committed.length) : line;
console.log(JSON.stringify({
  equal: !differs,
  servedLines: served.length,
  committedLines: committed.length,
  schemaDescription: body.data.__schema.description,
  firstDifference: differs
    ? { line: at + 1, served: served[at] ?? null, committed: committed[at] ?? null }
    : null,
}));
