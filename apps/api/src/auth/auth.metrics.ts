import { counterProvider } from '@app/metrics';

export type AuthFailureResult = 'rejected' | 'throttled';

/** observability.md: failed authentications, answered 401 (rejected) or 429 (throttled). */
export const AUTH_METRICS = [
  counterProvider({
    name: 'auth_failures_total',
    help: 'Requests without a valid API key: rejected (401) or throttled (429, too many failures from the client address)',
    labelNames: ['result'],
    zeroes: { result: ['rejected', 'throttled'] },
  }),
];
