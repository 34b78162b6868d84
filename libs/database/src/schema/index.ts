import type { Migration } from '../migrations';
import { searchMigration } from './0001_search';

/**
 * Every schema migration of the service, in order. Features add theirs as a new file here and a line
 * below; an applied migration is never edited (the runner refuses a changed checksum).
 */
export const MIGRATIONS: Migration[] = [searchMigration];
