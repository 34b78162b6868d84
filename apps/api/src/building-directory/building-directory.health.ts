import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthRegistry } from '@app/health/health.registry';
import { BUILDING_SOURCE } from './building-directory.tokens';
import type { BuildingSource } from './building.types';

/** The upstream (or file) in /health — not in readiness: cached buildings still serve without it. */
@Injectable()
export class BuildingDirectoryHealth implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(BUILDING_SOURCE) private readonly source: BuildingSource & { close?: () => Promise<void> },
    private readonly health: HealthRegistry,
  ) {}

  onModuleInit(): void {
    this.health.register({ name: 'building_directory', readiness: false, check: () => this.source.health() });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.source.close?.();
  }
}
