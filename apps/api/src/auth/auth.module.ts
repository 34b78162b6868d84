import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '@app/config';
import { ApiKeyStore } from './api-keys';
import { AuthFailureThrottle } from './auth-failures';
import { AuthGuard } from './auth.guard';
import { AUTH_METRICS } from './auth.metrics';

/** The API-key guard, the failed-auth throttle, and the key store (exported: /health shows details to a valid key). */
@Module({
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    {
      provide: ApiKeyStore,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new ApiKeyStore(c.auth.disabled ? [] : c.auth.keys),
    },
    {
      provide: AuthFailureThrottle,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new AuthFailureThrottle(c.auth.failureLimit, c.auth.failureWindowMs),
    },
    ...AUTH_METRICS,
  ],
  exports: [ApiKeyStore],
})
export class AuthModule {}
