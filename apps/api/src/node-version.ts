/*
 * The first thing main.ts loads, before Nest or any dependency: on a Node.js older than the one the project
 * is built for, the service would fail somewhere deep with an unrelated error. No imports here, and only
 * syntax every Node since 12 parses, so the line below is what an old Node prints.
 */
export const REQUIRED_NODE_MAJOR = 24;

/** The one line to print when `version` (process.versions.node) is too old; undefined when it is fine. */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= REQUIRED_NODE_MAJOR) return undefined;
  return (
    `atrium: Node.js ${REQUIRED_NODE_MAJOR} is required, this is Node.js ${version}. ` +
    `Start through npm (npm start, npm run start:prod): the project pins Node.js ${REQUIRED_NODE_MAJOR} as an npm ` +
    `devDependency ("node"), which npm ci installs and npm run puts first on PATH (see the README, Quick start).`
  );
}

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
