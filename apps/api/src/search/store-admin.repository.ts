import { Injectable } from '@nestjs/common';
import { Database } from '@libs/database';
import type { StoreSettings } from './store-settings';

/** Per content type: published documents, their passages (chunks) and bytes. */
export interface ContentTypeStats {
  documents: number;
  passages: number;
  bytes: number;
}

export interface StoreStatsRow {
  id: string;
  createdAt: Date;
  /** The store's last change: an upload, replacement or delete published, or its settings changed. */
  updatedAt: Date;
  version: string;
  /** Uploads (and replacements) still being stored: not counted anywhere else until published. */
  pendingUploads: number;
  /** Distinct words of the store's vocabulary (what typo correction and completion look through). */
  words: number;
  byContentType: Array<{ contentType: string } & ContentTypeStats>;
  /** Metadata keys (the user's and Atrium's) → how many published documents carry each, the 100 most used. */
  metadataKeys: Record<string, number>;
}

/**
 * The SQL of a store's settings and statistics (issue 23, items 4 and 6), tenant-scoped like every search
 * statement: a store is found by (tenant, name), so another tenant's store is not there.
 */
@Injectable()
export class StoreAdminRepository {
  constructor(private readonly db: Database) {}

  async settings(tenantId: string, store: string): Promise<unknown> {
    const r = await this.db.query<{ settings: unknown }>(
      'SELECT settings FROM search_stores WHERE tenant_id = $1 AND name = $2',
      [tenantId, store],
    );
    return r.rows.length ? r.rows[0].settings : undefined;
  }

  /**
   * Replaces the settings and moves the store's version on (cached searches of the old settings become
   * unreachable), in one statement. False when the store is not the tenant's.
   */
  async putSettings(tenantId: string, store: string, settings: StoreSettings): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE search_stores SET settings = $3::jsonb, version = version + 1, updated_at = now()
       WHERE tenant_id = $1 AND name = $2`,
      [tenantId, store, JSON.stringify(settings)],
    );
    return r.rowCount > 0;
  }

  /**
   * A store's statistics in one statement: published documents grouped by content type (the store's
   * documents through the (store_id, seq) index), uploads still pending, the vocabulary size.
   *
   * Extension point: metadata keys with counts (issue 23, item 1) and embedding progress (issue 22) are
   * further sub-selects here, and fields of StoreStats, once their columns exist; neither does yet.
   */
  async stats(tenantId: string, store: string): Promise<StoreStatsRow | undefined> {
    const r = await this.db.query<{
      id: string;
      createdAt: Date;
      updatedAt: Date;
      version: string;
      pendingUploads: number;
      words: number;
      byContentType: Array<{ contentType: string } & ContentTypeStats> | string | null;
      metadataKeys: Array<{ key: string; documents: number }> | string | null;
    }>(
      `SELECT s.id, s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.version::text AS version,
         (SELECT count(*)::int FROM search_documents d WHERE d.store_id = s.id AND NOT d.ready) AS "pendingUploads",
         (SELECT count(*)::int FROM search_words w WHERE w.store_id = s.id) AS words,
         (SELECT json_agg(t ORDER BY t."contentType") FROM (
            SELECT d.content_type AS "contentType", count(*)::int AS documents,
              coalesce(sum(d.chunk_count), 0)::float8 AS passages, coalesce(sum(d.bytes), 0)::float8 AS bytes
            FROM search_documents d WHERE d.store_id = s.id AND d.ready GROUP BY d.content_type
          ) t) AS "byContentType",
         (SELECT json_agg(k ORDER BY k.documents DESC, k.key) FROM (
            SELECT m.key, count(*)::int AS documents
            FROM search_documents d CROSS JOIN LATERAL jsonb_object_keys(d.metadata) AS m(key)
            WHERE d.store_id = s.id AND d.ready GROUP BY m.key ORDER BY count(*) DESC, m.key LIMIT 100
          ) k) AS "metadataKeys"
       FROM search_stores s WHERE s.tenant_id = $1 AND s.name = $2`,
      [tenantId, store],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    // json (not jsonb) may come back as text from one driver and parsed from the other
    const types =
      typeof row.byContentType === 'string'
        ? (JSON.parse(row.byContentType) as StoreStatsRow['byContentType'])
        : (row.byContentType ?? []);
    const keys =
      typeof row.metadataKeys === 'string'
        ? (JSON.parse(row.metadataKeys) as Array<{ key: string; documents: number }>)
        : (row.metadataKeys ?? []);
    return {
      ...row,
      byContentType: types,
      metadataKeys: Object.fromEntries(keys.map((k) => [k.key, Number(k.documents)])),
    };
  }
}
