import type { FixtureBuilding } from '../../fixtures/upstream-directory';

export const BENCH_TENANT = 'bench';
export const BUILDING_COUNT = 10_000;

const CITIES = ['Berlin', 'Lyon', 'Porto', 'Utrecht', 'Gdansk', 'Bilbao', 'Tampere', 'Graz'];
const STREETS = ['Market Street', 'Station Road', 'Harbour Lane', 'Mill Way', 'Church Square'];

/** `bld-00042`: fixed width so every path (and every response) is the same size. */
export function buildingId(index: number): string {
  return `bld-${String(index).padStart(5, '0')}`;
}

/**
 * The same deterministic buildings for the fixture upstream and the bare node:http ceiling server, so
 * both answer byte-identical JSON. Shapes alternate the way real directories mix them: nested
 * coordinates, `location: {lat, lng}` and flat fields.
 */
export function makeBuilding(index: number): FixtureBuilding {
  const city = CITIES[index % CITIES.length];
  const lat = 40 + ((index * 7919) % 10_000) / 1000;
  const lng = -5 + ((index * 104_729) % 20_000) / 1000;
  const base = {
    id: buildingId(index),
    name: `${STREETS[index % STREETS.length].split(' ')[0]} House ${index}`,
    active: index % 50 !== 0,
    address: {
      street: `${(index % 240) + 1} ${STREETS[index % STREETS.length]}`,
      city,
      postalCode: String(10_000 + ((index * 31) % 89_999)),
      country: 'EU',
    },
    floors: (index % 30) + 1,
    updatedAt: '2026-01-15T09:30:00.000Z',
  };
  switch (index % 3) {
    case 0:
      return { ...base, coordinates: { latitude: lat, longitude: lng } };
    case 1:
      return { ...base, location: { lat, lng } };
    default:
      return { ...base, latitude: lat, longitude: lng };
  }
}

export function makeBuildings(count = BUILDING_COUNT): FixtureBuilding[] {
  return Array.from({ length: count }, (_, i) => makeBuilding(i));
}
