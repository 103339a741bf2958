// graphql-ws, the reference client of graphql-transport-ws, against the HPMS server at
// HPMS_CLIENT_URL (ws://…), signed in through connection_init with HPMS_CLIENT_TOKEN: a query, a
// mutation, the first event of a subscription replayed from the start, and a subscription
// that does not validate. Prints one JSON line per operation: what it answered, or the errors
// the protocol carried.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = process.env.HPMS_CLIENT_URL;
const token = process.env.HPMS_CLIENT_TOKEN;
if (!url || !token) {
  console.error('socket.mjs: set HPMS_CLIENT_URL and HPMS_CLIENT_TOKEN');
  process.exit(2);
}

const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { token }, lazy: false });

// The first result of an operation, or the errors it ended with (an `error` message arrives as
// an array of GraphQL errors).
const first = (payload) =>
  new Promise((resolve) => {
    let dispose = () => {};
    dispose = client.subscribe(payload, {
      next: (result) => {
        dispose();
        resolve({ result });
      },
      error: (errors) => resolve({ errors: Array.isArray(errors) ? errors : [String(errors?.message ?? errors)] }),
      complete: () => resolve({ completed: true }),
    });
  });

const operations = {
  query: { query: 'query Me { me { username } }' },
  mutation: {
    query: 'mutation New($i: CreateAppointmentTypeInput!) { createAppointmentType(input: $i) { name } }',
    variables: { i: { name: 'Over the socket', durationMinutes: 20, price: '25.00' } },
  },
  subscription: { query: 'subscription { appointmentStatusChanged(after: "0") { newStatus } }' },
  invalid: { query: 'subscription { appointmentStatusChanged { noSuchField } }' },
};

for (const [name, payload] of Object.entries(operations)) {
  console.log(JSON.stringify({ operation: name, ...(await first(payload)) }));
}
await client.dispose();
