/** A building exactly as the directory returned it (shapes vary: see coordinates.ts, denormalize.ts). */
export type Building = Record<string, unknown>;

/** Port implemented by the HTTP client and the file source. */
export interface BuildingSource {
  readonly kind: 'http' | 'file';
  /** Where the buildings come from, for logs (never with credentials). */
  readonly description: string;
  /** The building, or null when the directory does not know it for this tenant. Throws UpstreamError/UpstreamTimeoutError. */
  getBuilding(tenantId: string, buildingId: string): Promise<Building | null>;
  /** Health details; throws when the source is unusable. */
  health(): Promise<Record<string, unknown>>;
}

export type ValidationResult = 'valid' | 'invalid_not_found' | 'invalid_inactive' | 'error';

export type CoordinatesSource = 'nested' | 'flat' | 'missing';

export interface BuildingAddress {
  street: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
}

/** GET /buildings/:id/request-data */
export interface BuildingRequestData {
  buildingId: string;
  name: string;
  address: BuildingAddress;
  latitude: number | null;
  longitude: number | null;
  coordinatesSource: CoordinatesSource;
}
