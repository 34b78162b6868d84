import { readFileSync } from 'node:fs';

/**
 * The hand-written part of a committed benchmark report — from its `## Analysis` heading to the end — so a
 * benchmark that rewrites the report keeps it. '' when the report or the section does not exist yet.
 */
export function handWrittenAnalysis(reportPath: string): string {
  let previous: string;
  try {
    previous = readFileSync(reportPath, 'utf8');
  } catch {
    return ''; // first run
  }
  const at = previous.indexOf('\n## Analysis');
  return at >= 0 ? previous.slice(at + 1).trimEnd() : '';
}
