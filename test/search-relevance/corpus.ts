import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The relevance corpus: the HTML of the Python documentation as Debian ships it (package `python3-doc`,
 * which .ci/run installs). Real public text nobody here wrote: tutorials, library reference pages, HOWTOs.
 * The generated alphabetical indexes (genindex-*.html) are lists of links, not documents, and are left out.
 */
export const PYTHON_DOC_DIRS = ['/usr/share/doc/python3-doc/html', '/usr/share/doc/python3/html'];

export interface CorpusFile {
  /** Path inside the html directory (`library/os.html`), unique; the upload's filename (slashes → `__`). */
  path: string;
  filename: string;
  data: Buffer;
}

export function pythonDocDir(): string {
  const dir = PYTHON_DOC_DIRS.find((d) => existsSync(join(d, 'index.html')));
  if (!dir)
    throw new Error(
      `The relevance corpus is missing: install Debian's python3-doc (apt-get install python3-doc); looked in ${PYTHON_DOC_DIRS.join(', ')}`,
    );
  return dir;
}

/** Every page of the corpus, in path order (so a run is reproducible). */
export function loadCorpus(): CorpusFile[] {
  const root = pythonDocDir();
  const files: CorpusFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (name.endsWith('.html') && !name.startsWith('genindex')) {
        const rel = relative(root, path);
        files.push({ path: rel, filename: rel.replaceAll('/', '__'), data: readFileSync(path) });
      }
    }
  };
  walk(root);
  return files;
}
