import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `fork`/`spawn` needs to start a child process's script. */
export interface ChildCommand {
  entry: string;
  execArgv: string[];
  env: Record<string, string>;
}

/**
 * How to start a child script that lives beside `callerFile` (pass `__filename`): the compiled `.js` next to it
 * in dist; from source (Jest, the @swc-node dev server) the `.ts` script through the same TypeScript loader the
 * parent runs under, pointed at the project's tsconfig. The extraction children, the browser host and the local
 * embedding model's child all start this way.
 */
export function childCommand(callerFile: string, script: string): ChildCommand {
  const fromSource = callerFile.endsWith('.ts');
  const entry = join(dirname(callerFile), `${script}${fromSource ? '.ts' : '.js'}`);
  if (!fromSource) return { entry, execArgv: [], env: {} };
  let root = dirname(callerFile);
  while (!existsSync(join(root, 'tsconfig.json')) && dirname(root) !== root) root = dirname(root);
  return {
    entry,
    execArgv: ['-r', require.resolve('@swc-node/register')],
    env: { SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
  };
}
