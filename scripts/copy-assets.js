// tsc emits only JavaScript: copy the runtime data files (bundled sample buildings, …) next to the compiled code.
const { cpSync, existsSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'dist');
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === 'data') cpSync(path, join(out, relative(root, path)), { recursive: true });
      else walk(path);
    }
  }
}
for (const top of ['apps', 'libs']) if (existsSync(join(root, top))) walk(join(root, top));
