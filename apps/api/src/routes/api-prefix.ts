/** Business routes live under /api/v1; probes, scrapes and docs are at the root (api.md). */
export const API_V1 = 'api/v1';
