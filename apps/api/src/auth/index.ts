// The auth module's public surface (@app/auth): the global guard's decorators, the module, the key store.
export * from './api-keys';
export * from './auth.decorators';
export * from './auth.module';
