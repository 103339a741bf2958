// Asks the HPMS server at HPMS_CLIENT_URL for the signed-in user (bearer token HPMS_CLIENT_TOKEN)
// through each GraphQL client as it comes, defaults untouched, and prints one JSON line per
// client: the username it read, or the error it met. Exits non-zero only when it cannot run;
// the Rust test judges the lines.
import { createRequire } from 'node:module';
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';

const require = createRequire(import.meta.url);
const url = process.env.HPMS_CLIENT_URL;
const token = process.env.HPMS_CLIENT_TOKEN;
if (!url || !token) {
  console.error('clients.mjs: set HPMS_CLIENT_URL and HPMS_CLIENT_TOKEN');
  process.exit(2);
}
const query = 'query Me { me { username } }';
const headers = { authorization: `Bearer ${token}` };

// Every request a client sends, so the test can see which method each used.
const methods = [];
const watchedFetch = (input, init = {}) => {
  methods.push(init.method ?? 'GET');
  return fetch(input, init);
};

const clients = {
  // graphql-request 4 (CommonJS, cross-fetch): no Accept of its own, reads application/json only.
  'graphql-request 4': async () => {
    const { GraphQLClient } = require('graphql-request-4');
    const client = new GraphQLClient(url, { headers, fetch: watchedFetch });
    return (await client.request(query)).me.username;
  },
  'graphql-request 7': async () => {
    const { GraphQLClient } = await import('graphql-request-7');
    const client = new GraphQLClient(url, { headers, fetch: watchedFetch });
    return (await client.request(query)).me.username;
  },
  // urql's defaults: queries within the URL limit go as GET.
  'urql': async () => {
    const client = new Client({
      url,
      exchanges: [cacheExchange, fetchExchange],
      fetchOptions: { headers },
      fetch: watchedFetch,
    });
    const result = await client.query(gql(query), {}).toPromise();
    if (result.error) throw result.error;
    return result.data.me.username;
  },
};

for (const [name, run] of Object.entries(clients)) {
  methods.length = 0;
  try {
    const username = await run();
    console.log(JSON.stringify({ client: name, username, methods: [...methods] }));
  } catch (error) {
    console.log(JSON.stringify({ client: name, error: String(error?.message ?? error).slice(0, 300), methods: [...methods] }));
  }
}
