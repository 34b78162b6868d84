// The retry policy's public surface (@app/resilience).
export * from './retry';
