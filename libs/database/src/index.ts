export * from './database';
export * from './database.errors';
export * from './database.module';
export * from './migrations';
export * from './pg.database';
export * from './pglite.database';
export * from './query-metrics';
export * from './health';
