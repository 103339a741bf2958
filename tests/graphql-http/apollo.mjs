// Apollo Client with its automatic persisted-query link, GET for hashed queries, as an app
// would set it up, against the HPMS server at HPMS_CLIENT_URL (bearer token HPMS_CLIENT_TOKEN).
// Two clients ask the same query in turn: the first finds the server without it and sends it
// once; the second is answered from its hash alone. Prints one JSON line per client with the
// username read and every request it sent (method, whether the query text travelled).
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const url = process.env.HPMS_CLIENT_URL;
const token = process.env.HPMS_CLIENT_TOKEN;
if (!url || !token) {
  console.error('apollo.mjs: set HPMS_CLIENT_URL and HPMS_CLIENT_TOKEN');
  process.exit(2);
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const query = gql`query Me { me { username } }`;

for (const name of ['first client', 'second client']) {
  const requests = [];
  const watchedFetch = (input, init = {}) => {
    const method = init.method ?? 'GET';
    const sent = method === 'GET' ? new URL(String(input)).searchParams.get('query') : JSON.parse(init.body).query;
    requests.push({ method, withQuery: Boolean(sent) });
    return fetch(input, init);
  };
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, fetch: watchedFetch, headers: { authorization: `Bearer ${token}` } }),
    ),
  });
  try {
    const { data } = await client.query({ query, fetchPolicy: 'network-only' });
    console.log(JSON.stringify({ client: name, username: data.me.username, requests }));
  } catch (error) {
    console.log(JSON.stringify({ client: name, error: String(error?.message ?? error).slice(0, 300), requests }));
  }
}
