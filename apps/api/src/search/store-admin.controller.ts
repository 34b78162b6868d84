import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { StoreAdminService, StoreStats } from './store-admin.service';
import { SETTINGS_LIMITS, StoreSettings } from './store-settings';

const WORDS = { type: 'array', items: { type: 'string', maxLength: SETTINGS_LIMITS.maxChars } };

/** A store's query-time settings and its statistics (issue 23, items 4 and 6). */
@ApiTags('search')
@Controller(`${API_V1}/stores/:store`)
export class StoreAdminController {
  constructor(private readonly admin: StoreAdminService) {}

  @Get('settings')
  @ApiOkResponse({ description: '{synonyms, synonymGroups, stopWords} as normalised and in force' })
  @ApiNotFoundResponse({ description: 'STORE_NOT_FOUND' })
  getSettings(@TenantId() tenantId: string, @Param('store') store: string): Promise<StoreSettings> {
    return this.admin.getSettings(tenantId, store);
  }

  @Put('settings')
  @ApiBody({
    description:
      'Replaces the settings (a field left out is emptied). synonyms: one-way, {"k8s": ["kubernetes"]}; ' +
      'synonymGroups: multi-way, [["car", "automobile"]]; stopWords: words queries ignore. Applied at ' +
      `query time, no re-index; the store's version moves on. At most ${SETTINGS_LIMITS.maxSynonymEntries} ` +
      `synonym entries and groups, ${SETTINGS_LIMITS.maxAlternatives} alternatives each, ` +
      `${SETTINGS_LIMITS.maxWordsPerSynonym} words and ${SETTINGS_LIMITS.maxChars} characters a synonym, ` +
      `${SETTINGS_LIMITS.maxStopWords} stop words of one word each.`,
    schema: {
      type: 'object',
      properties: {
        synonyms: { type: 'object', additionalProperties: WORDS, example: { k8s: ['kubernetes'] } },
        synonymGroups: { type: 'array', items: WORDS, example: [['car', 'automobile', 'auto']] },
        stopWords: { ...WORDS, example: ['acme'] },
      },
    },
  })
  @ApiOkResponse({ description: 'The settings now in force, normalised (lower case, NFKC)' })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED with the failing fields' })
  @ApiNotFoundResponse({ description: 'STORE_NOT_FOUND' })
  putSettings(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    // checked by parseSettings (store-settings.ts): a map of arbitrary keys, which a DTO class cannot whitelist
    @Body() body: unknown,
  ): Promise<StoreSettings> {
    return this.admin.putSettings(tenantId, store, body);
  }

  @Get('stats')
  @ApiOkResponse({
    description:
      '{store, documents, passages, bytes, words, pendingUploads, byContentType: {type: {documents, passages, bytes}}, createdAt, lastUpdate, metadataKeys: {key: documents}, embedding: {status, embedded, total}}',
  })
  @ApiNotFoundResponse({ description: 'STORE_NOT_FOUND' })
  stats(@TenantId() tenantId: string, @Param('store') store: string): Promise<StoreStats> {
    return this.admin.stats(tenantId, store);
  }
}
