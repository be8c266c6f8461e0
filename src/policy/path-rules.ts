/**
 * An app's path rules (apps[].rules, then its preset's), compiled once at startup into a first-match list:
 * prefixes precomputed, patterns compiled, methods in sets. Matching allocates nothing.
 */
import type { PathAction, PathRule } from '../config/runtime-config.js';

export interface PathRuleMatch {
  readonly kind: PathAction;
  /** For logs: `apps[0].rules[2]`, `preset jira` or `default`. */
  readonly source: string;
}

export interface AccessRules {
  /** The first rule whose conditions all hold, else `required` from `default`. `path` without the query. */
  match(method: string, path: string): PathRuleMatch;
}

interface CompiledRule {
  /** Exact path, or undefined. */
  readonly exact: string | undefined;
  /** Prefix ending in `/`, or undefined. */
  readonly prefix: string | undefined;
  readonly pattern: RegExp | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly result: PathRuleMatch;
}

const DEFAULT_RULE_MATCH: PathRuleMatch = Object.freeze({ kind: 'required', source: 'default' });

/** `/rest` matches /rest and /rest/…; `/rest/` matches /rest/… only: prefixes end on a segment boundary. */
function compileRule(rule: PathRule): CompiledRule {
  const path = rule.path;
  return {
    exact: path === undefined || path.endsWith('/') ? undefined : path,
    prefix: path === undefined ? undefined : path.endsWith('/') ? path : `${path}/`,
    pattern: rule.pattern === undefined ? undefined : new RegExp(rule.pattern),
    methods: rule.methods === undefined ? undefined : new Set(rule.methods),
    result: Object.freeze({ kind: rule.action, source: rule.source }),
  };
}

export function compilePathRules(rules: readonly PathRule[]): AccessRules {
  const compiled = rules.map(compileRule);
  return {
    match(method, path) {
      for (const rule of compiled) {
        if (rule.methods !== undefined && !rule.methods.has(method)) continue;
        if (rule.prefix !== undefined && path !== rule.exact && !path.startsWith(rule.prefix)) continue;
        if (rule.pattern !== undefined && !rule.pattern.test(path)) continue;
        return rule.result;
      }
      return DEFAULT_RULE_MATCH;
    },
  };
}
