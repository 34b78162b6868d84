import type { Building, BuildingAddress, CoordinatesSource } from './building.types';

export interface ExtractedCoordinates {
  latitude: number | null;
  longitude: number | null;
  source: CoordinatesSource;
  /** success: a valid pair was found; failure: none, or out of range / not numeric. */
  result: 'success' | 'failure';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number, or a numeric string ("52.52"); anything else is null. */
function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function pair(lat: unknown, lng: unknown, source: CoordinatesSource): ExtractedCoordinates {
  const latitude = num(lat);
  const longitude = num(lng);
  const ok =
    latitude !== null && longitude !== null && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180;
  return ok
    ? { latitude, longitude, source, result: 'success' }
    : { latitude: null, longitude: null, source, result: 'failure' };
}

/**
 * Coordinates from the shapes the directory uses: nested `coordinates: {latitude, longitude}` or
 * `location: {lat, lng}` (also `location: {latitude, longitude}` / `lon`), flat `latitude`/`longitude`
 * (or `lat`/`lng`), or none. The first shape present decides the source, even when its values are bad
 * (that is a failure of that source, not a reason to look elsewhere).
 */
export function extractCoordinates(b: Building): ExtractedCoordinates {
  if (isObject(b.coordinates))
    return pair(
      b.coordinates.latitude ?? b.coordinates.lat,
      b.coordinates.longitude ?? b.coordinates.lng ?? b.coordinates.lon,
      'nested',
    );
  if (isObject(b.location))
    return pair(
      b.location.lat ?? b.location.latitude,
      b.location.lng ?? b.location.lon ?? b.location.longitude,
      'nested',
    );
  if (b.latitude !== undefined || b.longitude !== undefined) return pair(b.latitude, b.longitude, 'flat');
  if (b.lat !== undefined || b.lng !== undefined) return pair(b.lat, b.lng, 'flat');
  return { latitude: null, longitude: null, source: 'missing', result: 'failure' };
}

function str(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** `address: {street, city, postalCode, country}` or the same as flat fields (postal_code / zip too). */
export function extractAddress(b: Building): BuildingAddress {
  const a = isObject(b.address) ? b.address : b;
  return {
    street: str(a.street) ?? (typeof b.address === 'string' ? str(b.address) : null),
    city: str(a.city),
    postalCode: str(a.postalCode) ?? str(a.postal_code) ?? str(a.zip) ?? str(a.zipCode),
    country: str(a.country),
  };
}

/** Active unless the directory says otherwise: `active: false` or `status` other than "active". */
export function isActive(b: Building): boolean {
  if (typeof b.active === 'boolean') return b.active;
  if (typeof b.status === 'string') return b.status.toLowerCase() === 'active';
  return true;
}
