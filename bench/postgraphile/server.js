// PostGraphile v4 over the benchmark database: the comparison for scenario (a) in bench/run.sh.
// It connects as the application role, so the same row-level security applies, and sets the same
// session variables HPMS sets (app.tenant_id, app.user_id, app.role) from the same HS256 token
// the load generator signs. One worker per core, each with its share of HPMS's pool size, so it
// gets the machine HPMS gets.
//
//   DATABASE_URL=... HPMS_TOKEN_SECRET=... PORT=... POOL_SIZE=16 node server.js
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');

const workers = os.availableParallelism();

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    console.error(`postgraphile worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  const { Pool } = require('pg');
  const { postgraphile } = require('postgraphile');
  const ConnectionFilterPlugin = require('postgraphile-plugin-connection-filter');
  const jwt = require('jsonwebtoken');

  const secret = process.env.HPMS_TOKEN_SECRET;
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: Math.max(1, Math.floor(Number(process.env.POOL_SIZE || 16) / workers)),
  });
  const middleware = postgraphile(pool, 'public', {
    appendPlugins: [ConnectionFilterPlugin],
    disableDefaultMutations: true,
    disableQueryLog: true,
    retryOnInitFail: false,
    pgSettings: (request) => {
      const token = (request.headers.authorization || '').replace(/^Bearer /, '');
      const claims = jwt.verify(token, secret, { algorithms: ['HS256'], issuer: 'hpms' });
      return { 'app.tenant_id': claims.tid, 'app.user_id': claims.sub, 'app.role': claims.role };
    },
  });
  http.createServer(middleware).listen(Number(process.env.PORT), '127.0.0.1');
}
