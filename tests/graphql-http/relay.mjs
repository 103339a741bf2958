// Compiles relay/src/ with the Relay compiler (npm relay-compiler, pinned) against the committed
// schema.graphql, then sends each query the compiler generated, as it generated it, to the HPMS
// server at HPMS_CLIENT_URL (bearer token HPMS_CLIENT_TOKEN), its variable = HPMS_NODE_ID. Prints one
// JSON line for the compiler (its exit code and output) and one per generated query (its name,
// text and the server's answer). Exits non-zero only when it cannot run.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const url = process.env.HPMS_CLIENT_URL;
const token = process.env.HPMS_CLIENT_TOKEN;
const id = process.env.HPMS_NODE_ID;
if (!url || !token || !id) {
  console.error('relay.mjs: set HPMS_CLIENT_URL, HPMS_CLIENT_TOKEN and HPMS_NODE_ID');
  process.exit(2);
}
const project = fileURLToPath(new URL('relay/', import.meta.url));
const generated = `${project}src/__generated__/`;
rmSync(generated, { recursive: true, force: true });
const compiler = fileURLToPath(new URL('node_modules/.bin/relay-compiler', import.meta.url));
const compiled = spawnSync(compiler, [], { cwd: project, encoding: 'utf8' });
console.log(JSON.stringify({
  compiler: compiled.status,
  output: `${compiled.stdout}${compiled.stderr}`,
}));
if (compiled.status !== 0) process.exit(0);

for (const file of readdirSync(generated).filter((name) => name.endsWith('Query.graphql.js')).sort()) {
  const { default: artifact } = await import(`${generated}${file}`);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      query: artifact.params.text,
      operationName: artifact.params.name,
      // Whatever the compiler named its one variable (`id` on the page, `nodeId` on the refetch).
      variables: Object.fromEntries(
        artifact.fragment.argumentDefinitions.map((definition) => [definition.name, id]),
      ),
    }),
  });
  console.log(JSON.stringify({
    query: artifact.params.name,
    text: artifact.params.text,
    answer: await response.json(),
  }));
}
