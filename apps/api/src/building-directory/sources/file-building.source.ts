import { readFile } from 'node:fs/promises';
import type { Building, BuildingSource } from '../building.types';
import { UpstreamError } from '../building-directory.errors';

/** `{ "tenants": { "<tenantId>": [ { "id": "…", … }, … ] } }` */
export interface BuildingFile {
  tenants: Record<string, Building[]>;
}

/**
 * Buildings from a JSON file (BUILDING_DIRECTORY_FILE; default the bundled sample for tenants `demo`
 * and `acme`). Read once, lazily, and kept: later lookups (cache misses) never touch the disk, so the
 * file may even go away. A missing or broken file is an UPSTREAM_ERROR per request and a down health
 * check, not a crash at startup; it is read again at the next lookup until it loads.
 */
export class FileBuildingSource implements BuildingSource {
  readonly kind = 'file' as const;
  readonly description: string;
  private index?: Promise<Map<string, Map<string, Building>>>;

  constructor(
    private readonly path: string,
    /** The bundled sample, compiled in: no disk read, so it works from dist/ and from source alike. */
    private readonly embedded?: BuildingFile,
    private readonly read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
  ) {
    this.description = embedded ? `file ${path} (bundled sample)` : `file ${path}`;
  }

  async getBuilding(tenantId: string, buildingId: string): Promise<Building | null> {
    let index: Map<string, Map<string, Building>>;
    try {
      index = await this.load();
    } catch {
      throw new UpstreamError('The building file cannot be read', 'parse_error');
    }
    return index.get(tenantId)?.get(buildingId) ?? null;
  }

  async health(): Promise<Record<string, unknown>> {
    const index = await this.load();
    let buildings = 0;
    for (const t of index.values()) buildings += t.size;
    return { source: 'file', path: this.path, tenants: index.size, buildings };
  }

  private load(): Promise<Map<string, Map<string, Building>>> {
    if (this.index) return this.index;
    const read = this.embedded
      ? Promise.resolve(this.embedded)
      : this.read(this.path).then((text) => JSON.parse(text) as BuildingFile);
    const loading = read.then((parsed) => {
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        typeof parsed.tenants !== 'object' ||
        parsed.tenants === null
      )
        throw new Error(`${this.path}: expected {"tenants": {"<tenantId>": [buildings]}}`);
      const index = new Map<string, Map<string, Building>>();
      for (const [tenant, list] of Object.entries(parsed.tenants)) {
        if (!Array.isArray(list)) throw new Error(`${this.path}: tenants.${tenant} must be an array`);
        index.set(
          tenant,
          new Map(list.filter((b) => typeof b?.id === 'string').map((b) => [b.id as string, b])),
        );
      }
      return index;
    });
    this.index = loading;
    // a failed read is not kept: a fixed file is picked up on the next call (every caller handles the
    // rejection it gets; this handler only forgets it)
    loading.catch(() => {
      if (this.index === loading) this.index = undefined;
    });
    return loading;
  }
}
