export * from './app-config';
export * from './config.module';
export { EnvironmentVariables } from './env.schema';
export { memoryBudgetBytes, MEMORY_OVERHEAD_BYTES, VECTOR_INDEX_OVERHEAD_MB } from './memory-budget';
