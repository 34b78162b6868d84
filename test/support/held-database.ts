import type { Database } from '@libs/database';

/**
 * The real database, with every statement that contains `marker` held until `resume()` (`reached` resolves when
 * the first one arrives): a way to look at what others see while an upload or a replacement is half-way.
 */
export function holdAt(
  real: Database,
  marker: string,
): { db: Database; reached: Promise<void>; resume: () => void } {
  let arrived!: () => void;
  const reached = new Promise<void>((r) => (arrived = r));
  let resume!: () => void;
  const gate = new Promise<void>((r) => (resume = r));
  const db = {
    query: async (sql: string, params?: unknown[]) => {
      if (sql.includes(marker)) {
        arrived();
        await gate;
      }
      return real.query(sql, params);
    },
    transaction: real.transaction.bind(real),
  } as unknown as Database;
  return { db, reached, resume };
}
