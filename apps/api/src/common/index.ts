// Shared HTTP plumbing's public surface (@app/common): error base class and codes, the exception filter's hooks, the API prefix, validation errors, media types, the Redis monitor, route metadata.
export * from './all-exceptions.filter';
export * from './api';
export * from './app-error';
export * from './caller-origin';
export * from './error-body';
export * from './media-type';
export * from './redis-monitor';
export * from './route-metadata';
export * from './validation';
