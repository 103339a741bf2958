// HPMS's GraphiQL page (served by src/server/graphiql.rs). Everything it loads comes from the
// server itself. Queries and mutations go over HTTP with the headers editor's headers;
// subscriptions go over the WebSocket on the same path, authenticated in connection_init with
// the token or API key found in those same headers, so one headers editor serves both.
(function () {
  'use strict';

  const config = JSON.parse(document.getElementById('hpms-graphiql-config').textContent);
  const endpoint = new URL(config.endpoint, window.location.href);
  const socketEndpoint = new URL(endpoint.href);
  socketEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  // The headers of the operation being run, read when a WebSocket connects. The socket closes as
  // soon as no subscription is running, so a token pasted later is used by the next one.
  let headersOfLatestRun = {};
  const socketClient = window.graphqlWs.createClient({
    url: socketEndpoint.href,
    lazy: true,
    lazyCloseTimeout: 0,
    connectionParams: () => connectionInitPayload(headersOfLatestRun),
  });

  function headerValue(headers, name) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    return key === undefined ? undefined : String(headers[key]);
  }

  function connectionInitPayload(headers) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headerValue(headers, 'authorization') || '');
    if (bearer) return { token: bearer[1] };
    const apiKey = headerValue(headers, 'x-api-key');
    return apiKey ? { apiKey } : {};
  }

  const httpOrSocket = window.GraphiQL.createFetcher({
    url: endpoint.href,
    wsClient: socketClient,
    enableIncrementalDelivery: false,
  });

  // The headers editor opens with a placeholder token; until one is pasted, requests go without
  // it, so the schema still loads for the documentation pane and completion.
  function withoutPlaceholder(headers) {
    return Object.fromEntries(
      Object.entries(headers || {}).filter(([, value]) => !String(value).includes(config.tokenPlaceholder)),
    );
  }

  function fetcher(params, options) {
    headersOfLatestRun = withoutPlaceholder(options && options.headers);
    return httpOrSocket(params, { ...options, headers: headersOfLatestRun });
  }

  const tabs = config.examples.map((example) => ({
    query: example.operation,
    variables: example.variables || undefined,
    headers: config.headers,
  }));

  const root = window.ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    window.React.createElement(window.GraphiQL, {
      fetcher,
      defaultTabs: tabs,
      // GraphiQL 3 fills the first tab's editors from these, not from defaultTabs: without them
      // the SignIn tab opens with empty Variables (its own until the tab is left and reopened).
      query: tabs[0].query,
      variables: tabs[0].variables,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: 'headers',
      // Tokens stay out of the browser's storage: a shared front-desk PC keeps no sign-in.
      shouldPersistHeaders: false,
    }),
  );
})();
