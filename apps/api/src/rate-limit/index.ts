// The rate-limit module's public surface (@app/rate-limit): the route group decorator.
export * from './rate-limit.decorator';
