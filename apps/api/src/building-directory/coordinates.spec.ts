import { extractAddress, extractCoordinates, isActive } from './coordinates';

describe('extractCoordinates', () => {
  it.each([
    ['nested coordinates', { coordinates: { latitude: 52.5, longitude: 13.4 } }, 52.5, 13.4, 'nested'],
    ['nested location lat/lng', { location: { lat: -33.9, lng: 151.2 } }, -33.9, 151.2, 'nested'],
    ['nested location latitude/lon', { location: { latitude: 1, lon: 2 } }, 1, 2, 'nested'],
    ['flat latitude/longitude', { latitude: 48.85, longitude: 2.35 }, 48.85, 2.35, 'flat'],
    ['flat numeric strings', { latitude: '40.7', longitude: '-74.0' }, 40.7, -74, 'flat'],
    ['flat lat/lng', { lat: 0, lng: 0 }, 0, 0, 'flat'],
  ])('%s → success', (_name, building, latitude, longitude, source) => {
    expect(extractCoordinates(building)).toEqual({ latitude, longitude, source, result: 'success' });
  });

  it.each([
    ['no coordinates at all', { name: 'x' }, 'missing'],
    ['latitude out of range', { coordinates: { latitude: 91, longitude: 0 } }, 'nested'],
    ['longitude out of range', { latitude: 0, longitude: -181 }, 'flat'],
    ['not numeric', { location: { lat: 'north', lng: 3 } }, 'nested'],
    ['only one of the pair', { latitude: 10 }, 'flat'],
    ['null values', { coordinates: { latitude: null, longitude: null } }, 'nested'],
  ])('%s → failure (source %s)', (_name, building, source) => {
    expect(extractCoordinates(building)).toEqual({
      latitude: null,
      longitude: null,
      source,
      result: 'failure',
    });
  });

  it('the first shape present decides: nested wins over flat fields', () => {
    expect(
      extractCoordinates({ coordinates: { latitude: 1, longitude: 2 }, latitude: 5, longitude: 6 }).source,
    ).toBe('nested');
  });
});

describe('extractAddress', () => {
  it('reads the nested address', () => {
    expect(extractAddress({ address: { street: 'S', city: 'C', postalCode: 'P', country: 'DE' } })).toEqual({
      street: 'S',
      city: 'C',
      postalCode: 'P',
      country: 'DE',
    });
  });
  it('reads flat fields, postal_code/zip spellings, nulls for the rest', () => {
    expect(extractAddress({ street: 'S', postal_code: 10115 })).toEqual({
      street: 'S',
      city: null,
      postalCode: '10115',
      country: null,
    });
    expect(extractAddress({ zip: '90210' }).postalCode).toBe('90210');
  });
});

describe('isActive', () => {
  it.each([
    [{ active: true }, true],
    [{ active: false, status: 'active' }, false],
    [{ status: 'active' }, true],
    [{ status: 'ACTIVE' }, true],
    [{ status: 'inactive' }, false],
    [{ status: 'decommissioned' }, false],
    [{}, true],
  ])('%j → %s', (building, expected) => {
    expect(isActive(building)).toBe(expected);
  });
});
