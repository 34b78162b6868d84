import { createServer } from 'node:http';
import { BUILDING_COUNT, buildingId, makeBuilding } from '../lib/buildings';

/**
 * The ceiling: a bare node:http server answering GET /api/v1/buildings/:id with the same JSON the
 * app serves from its cache (a Map lookup and JSON.stringify per request — what the app's cached path
 * does at minimum). Run as its own process by the benchmark; PORT from the environment.
 */
const buildings = new Map<string, unknown>();
for (let i = 0; i < BUILDING_COUNT; i++) buildings.set(buildingId(i), makeBuilding(i));
const PREFIX = '/api/v1/buildings/';

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/health/ready') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"status":"ok"}');
  }
  const building = url.startsWith(PREFIX) ? buildings.get(url.slice(PREFIX.length)) : undefined;
  const body = JSON.stringify(building ?? { statusCode: 404, code: 'BUILDING_NOT_FOUND' });
  res.writeHead(building ? 200 : 404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
