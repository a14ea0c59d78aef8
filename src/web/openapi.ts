// The OpenAPI 3.1 document of the JSON API, built from the routes as registered (their summaries and
// JSON schemas), so it cannot drift from what the server does.
import type { RouteInfo } from './server.js';

function pathOf(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}');
}

function parameters(schema: Record<string, unknown> | undefined): unknown[] {
  const out: unknown[] = [];
  for (const [where, key] of [
    ['path', 'params'],
    ['query', 'querystring'],
  ] as const) {
    const s = schema?.[key] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
    for (const [name, def] of Object.entries(s?.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || s?.required?.includes(name) === true,
        schema: def,
      });
    }
  }
  return out;
}

export function openApiDocument(routes: RouteInfo[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.page || !(r.url.startsWith('/api/') || r.url === '/metrics' || r.url === '/healthz')) continue;
    const op: Record<string, unknown> = {
      summary: r.summary ?? '',
      parameters: parameters(r.schema),
      responses: {
        '200': { description: 'OK' },
        ...(r.public ? {} : { '401': { description: 'no session and no API token' } }),
        ...(r.method === 'GET' ? {} : { '403': { description: 'session without the CSRF token' } }),
      },
      ...(r.public ? { security: [] } : {}),
    };
    const body = r.schema?.body;
    if (body) op.requestBody = { required: true, content: { 'application/json': { schema: body } } };
    paths[pathOf(r.url)] = { ...paths[pathOf(r.url)], [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Postbote admin API',
      version: '1',
      description:
        'Every route needs a session cookie (with X-CSRF-Token on changes) or an API token ' +
        '(Authorization: Bearer TOKEN; web.apiTokens holds its SHA-256).',
    },
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'postbote_session' },
      },
    },
    security: [{ token: [] }, { session: [] }],
    paths,
  };
}
