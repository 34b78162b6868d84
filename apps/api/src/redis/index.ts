// The app's Redis connection monitor (@app/redis).
export * from './redis-monitor';
