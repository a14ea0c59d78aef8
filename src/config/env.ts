// ${VAR} and ${VAR:-default} in YAML string values, substituted after parsing so a value can never
// change the document's structure (a password containing ': ' or '#' stays one string).
import { type Document, isMap, isScalar, isSeq, type LineCounter } from 'yaml';
import { type ConfigIssue, formatPath } from './config-error.js';
import { position } from './locate.js';

// `$${` is a literal `${`; anything else starting with `${` must be a well-formed reference.
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

export type Expansion = { value: string } | { error: string; variable?: string };

/** Expands the references in one string. */
export function expandVariables(text: string, env: NodeJS.ProcessEnv): Expansion {
  let failure: Expansion | undefined;
  const value = text.replace(
    REFERENCE,
    (match, variable: string | undefined, fallback: string | undefined) => {
      if (match === '$${') return '${';
      if (variable === undefined) {
        failure ??= { error: `malformed \${…} reference` };
        return match;
      }
      const set = env[variable];
      if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
      if (set === undefined) failure ??= { error: `environment variable ${variable} is not set`, variable };
      return set ?? '';
    },
  );
  return failure ?? { value };
}

/** Substitutes in place in every string value of the document; returns one issue per failed value. */
export function substituteEnv(
  doc: Document,
  lineCounter: LineCounter,
  env: NodeJS.ProcessEnv,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        walk(item, [...path, index]);
      });
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const result = expandVariables(node.value, env);
      if ('value' in result) {
        node.value = result.value;
        return;
      }
      issues.push({
        path: formatPath(path),
        ...position(lineCounter, node.range?.[0]),
        message: result.error,
        hint: result.variable
          ? `set ${result.variable} in the environment (or the service's EnvironmentFile), or write \${${result.variable}:-default}`
          : `write \${NAME} or \${NAME:-default}; $\${ is a literal \${`,
      });
    }
  };
  walk(doc.contents, []);
  return issues;
}
