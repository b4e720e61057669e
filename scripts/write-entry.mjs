// tsc keeps the source tree under dist/ (rootDir is the project), so `node dist/main.js` needs a one-line entry.
import { writeFileSync, chmodSync } from 'node:fs';
writeFileSync('dist/main.js', "#!/usr/bin/env node\nimport './src/main.js';\n");
chmodSync('dist/main.js', 0o755);
