// PostGraphile v5 (Grafast) over the benchmark database: a comparison for scenario (a) in
// bench/run.sh, beside v4 (bench/postgraphile/). The amber preset with the connection-filter
// plugin (for the date range), connected as the application role, so the same row-level security
// applies; it sets the same session variables HPMS sets (app.tenant_id, app.user_id, app.role)
// from the same HS256 token the load generator signs. One worker per core, each with its share of
// HPMS's pool size, so it gets the machine HPMS gets.
//
//   DATABASE_URL=... HPMS_TOKEN_SECRET=... PORT=... POOL_SIZE=16 node server.mjs
//
// Grafast awaits Promise.withResolvers, which Node.js has from 22 on; on this machine's Node 20
// every query then answers nothing at all. The polyfill below (the standard's own definition) is
// installed before PostGraphile is loaded, and bench/run.sh checks the rows of an answer before
// timing anything.
import cluster from 'node:cluster';
import http from 'node:http';
import os from 'node:os';

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((resolvePromise, rejectPromise) => {
      resolve = resolvePromise;
      reject = rejectPromise;
    });
    return { promise, resolve, reject };
  };
}

const workers = os.availableParallelism();

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    console.error(`postgraphile worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  const { postgraphile } = await import('postgraphile');
  const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
  const { makePgService } = await import('postgraphile/adaptors/pg');
  const { grafserv } = await import('postgraphile/grafserv/node');
  const { PostGraphileConnectionFilterPreset } = await import('postgraphile-plugin-connection-filter');
  const { default: jwt } = await import('jsonwebtoken');

  const secret = process.env.HPMS_TOKEN_SECRET;
  const preset = {
    extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
    disablePlugins: ['PgMutationCreatePlugin', 'PgMutationUpdateDeletePlugin'],
    pgServices: [
      makePgService({
        connectionString: process.env.DATABASE_URL,
        schemas: ['public'],
        poolConfig: { max: Math.max(1, Math.floor(Number(process.env.POOL_SIZE || 16) / workers)) },
        pgSettings: (requestContext) => {
          const header = requestContext.node?.req?.headers?.authorization || '';
          const claims = jwt.verify(header.replace(/^Bearer /, ''), secret, {
            algorithms: ['HS256'],
            issuer: 'hpms',
          });
          return { 'app.tenant_id': claims.tid, 'app.user_id': claims.sub, 'app.role': claims.role };
        },
      }),
    ],
    grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = http.createServer();
  serv.addTo(server);
  server.listen(Number(process.env.PORT), '127.0.0.1');
}
