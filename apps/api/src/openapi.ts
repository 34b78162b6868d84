import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, ParameterObject, SwaggerModule } from '@nestjs/swagger';
import { PUBLIC_OPERATION } from './auth/auth.decorators';
import { AppConfig } from './config';

/** The security schemes of the document: the two ways the auth guard accepts a key (api-keys.ts). */
export const SECURITY_SCHEMES = { apiKey: 'api-key', bearer: 'bearer' } as const;

const TENANT_HEADER: ParameterObject = {
  name: 'X-Tenant-ID',
  in: 'header',
  required: false,
  // In words, not as a regular expression: Swagger UI's page is templated with String.replace, where a `$`
  // followed by a backtick, `'`, `&`, `$` or a digit in the document is a replacement pattern (the regex's
  // `$` + backtick broke /docs). The schema's `pattern` ends in `$"` once serialised, which is not one.
  description:
    'The tenant to act for: 1 to 64 letters, digits, `_` or `-`, the first a letter or digit. Required with a ' +
    '`*` key; with a tenant key it may ' +
    'only repeat that tenant (403 TENANT_FORBIDDEN otherwise); with auth off it picks the tenant (default ' +
    'DEFAULT_TENANT_ID).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', example: 'demo' },
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The OpenAPI document of the app: every operation the auth guard protects carries `security` (either
 * scheme) and the `X-Tenant-ID` header, so Swagger UI's Authorize applies the key and a tenant can be
 * chosen per call; @Public operations (probes, scrapes, the signed change feed) carry neither.
 */
export function createOpenApiDocument(app: NestFastifyApplication, config: AppConfig): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Atrium')
      .setDescription(
        'Building directory, document search and safe URL downloader behind one API. Authorize with an API key ' +
          '(`X-API-Key: <key>` or `Authorization: Bearer <key>`; not needed when the server runs with auth off) ' +
          'and send `X-Tenant-ID` with a `*` key.',
      )
      .setVersion(config.version)
      .addApiKey(
        { type: 'apiKey', name: 'X-API-Key', in: 'header', description: 'An API key of AUTH_API_KEYS' },
        SECURITY_SCHEMES.apiKey,
      )
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', description: 'The same API key as `Authorization: Bearer <key>`' },
        SECURITY_SCHEMES.bearer,
      )
      .build(),
  );
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const extensions = op as unknown as Record<string, unknown>;
      if (extensions[PUBLIC_OPERATION]) {
        delete extensions[PUBLIC_OPERATION];
        op.security = [];
        continue;
      }
      op.security = [{ [SECURITY_SCHEMES.apiKey]: [] }, { [SECURITY_SCHEMES.bearer]: [] }];
      const params = (op.parameters ??= []);
      if (!params.some((p) => 'name' in p && p.name.toLowerCase() === 'x-tenant-id'))
        params.push(TENANT_HEADER);
    }
  }
  return document;
}
