/** The building source port: the HTTP upstream (BUILDING_DIRECTORY_URL) or a JSON file. */
export const BUILDING_SOURCE = Symbol('BUILDING_SOURCE');
