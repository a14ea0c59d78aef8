// The page's script is plain JavaScript under `// @ts-check` (checked by tsc with checkJs, linted by
// Biome), served as ES modules under the strict CSP from the files themselves, from source (tsx) and
// from what `npm run build` writes to dist/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { SCRIPT_FILES } from '../../src/web/static/assets.js';
import { makeTempDir } from '../support/ports.js';
import { ROOT } from './helpers.js';
import { buildFor, session, type WebWorld, webWorld } from './web-world.js';

const run = promisify(execFile);
const STATIC = join(ROOT, 'src/web/static');

describe('the page script', () => {
  let w: WebWorld;
  let app: FastifyInstance;
  before(async () => {
    w = await webWorld();
    ({ app } = await buildFor(w));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await w.close();
  });

  test('is served from the type-checked source files, as modules the page loads', async () => {
    const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8'));
    assert.equal(tsconfig.compilerOptions.checkJs, true, 'tsc checks the JavaScript');
    for (const file of SCRIPT_FILES) {
      const source = await readFile(join(STATIC, file), 'utf8');
      assert.match(source, /^\/\/ @ts-check\n/, `${file} is checked`);
      const res = await app.inject({ method: 'GET', url: `/static/${file}` });
      assert.equal(res.statusCode, 200, file);
      assert.match(String(res.headers['content-type']), /^text\/javascript/);
      assert.equal(res.body, source, `${file} is served as written`);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/static/nothing.js' })).statusCode, 404);
    const s = await session(app);
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: s.cookie } });
    assert.match(page.body, /<script type="module" src="\/static\/app.js"><\/script>/);
    assert.doesNotMatch(page.body, /<script(?![^>]*src=)[^>]*>/, 'no inline script');
  });

  test('npm run build puts the script beside the server that serves it', async () => {
    const out = await makeTempDir('postbote-build-');
    try {
      // The build as package.json's "build" runs it, into a folder of its own.
      await run(process.execPath, [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        out.path,
      ]);
      const probe = `const { loadAssets } = await import(${JSON.stringify(join(out.path, 'web/static/assets.js'))});
        const a = loadAssets();
        process.stdout.write(JSON.stringify([...a.keys()].map((k) => [k, a.get(k).body.length])));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe]);
      const served = new Map<string, number>(JSON.parse(stdout));
      for (const file of SCRIPT_FILES) assert.ok((served.get(file) ?? 0) > 200, `${file} in dist: ${stdout}`);
      assert.ok((served.get('app.css') ?? 0) > 1000);
    } finally {
      await out.remove();
    }
  });
});
