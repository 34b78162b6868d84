export * from './request-context';
export * from './request-id';
export * from './redaction';
export * from './logger';
export * from './observability.module';
export * from './http-context';
export * from './log-throttle';
export * from './connection-monitor';
