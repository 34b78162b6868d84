import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, NotFoundException, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BUILDING_COUNT, buildingId, makeBuilding } from '../lib/buildings';

/**
 * The framework floor: a minimal Nest 11 + Fastify app answering GET /api/v1/buildings/:id with the same
 * JSON as the bare node:http server and Atrium's cached lookup (a Map lookup; Nest + Fastify serialise
 * the object). No guards, interceptors, pipes, logging or metrics: what any Nest + Fastify route costs.
 * Run as its own process by the benchmark; PORT from the environment.
 *
 * FLOOR_BUSY_US (benchmark control, default 0): spins that many µs per request before answering — the
 * floor slowed to another server's CPU per request, to tell what of that server's latency at a fixed rate
 * comes from its CPU per request alone.
 */
const buildings = new Map<string, object>();
for (let i = 0; i < BUILDING_COUNT; i++) buildings.set(buildingId(i), makeBuilding(i));
const busyNs = BigInt(Math.round(Number(process.env.FLOOR_BUSY_US ?? 0) * 1000));

function spin(): void {
  if (busyNs <= 0n) return;
  const until = process.hrtime.bigint() + busyNs;
  while (process.hrtime.bigint() < until);
}

@Controller()
class BuildingsController {
  @Get('api/v1/buildings/:id')
  get(@Param('id') id: string): object {
    spin();
    const building = buildings.get(id);
    if (building === undefined) throw new NotFoundException({ statusCode: 404, code: 'BUILDING_NOT_FOUND' });
    return building;
  }

  @Get('health/ready')
  @HttpCode(200)
  ready(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({ controllers: [BuildingsController] })
class FloorModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
