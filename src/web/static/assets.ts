// The page's static files, read once at start-up from beside this module: from src/web/static when
// run from source, from dist/web/static after `npm run build` (tsc copies the checked .js files there).
import { readFileSync } from 'node:fs';
import { APP_CSS } from './app-css.js';

/** The script modules the page loads (app.js imports the others); nothing else is served. */
export const SCRIPT_FILES = ['app.js', 'actions.js', 'times.js'] as const;

export interface StaticAsset {
  type: string;
  body: string;
}

export function loadAssets(): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>([
    ['app.css', { type: 'text/css; charset=utf-8', body: APP_CSS }],
  ]);
  for (const file of SCRIPT_FILES) {
    const body = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    assets.set(file, { type: 'text/javascript; charset=utf-8', body });
  }
  return assets;
}
