/**
 * The `crowd-sso-proxy` command: serve | check | metadata | nginx-config | traefik-config | caddy-config. Parses flags, loads the configuration and
 * hands over to app.ts; no business logic. Exit codes: 0 ok, 1 failure or failed check, 2 invalid
 * configuration or command line.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import yargs from 'yargs';
import type { CheckReport } from './check/run-check.js';
import { isConfigError, loadConfig } from '../config/load-config.js';
import { packageFilePath } from '../config/package-file.js';
import type { RuntimeConfig } from '../config/runtime-config.js';

export interface CliIo {
  readonly stdout: Pick<NodeJS.WritableStream, 'write'>;
  readonly stderr: Pick<NodeJS.WritableStream, 'write'>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

type Command = 'serve' | 'check' | 'metadata' | 'nginx-config' | 'traefik-config' | 'caddy-config';

interface Invocation {
  readonly command: Command;
  readonly configPath: string;
  readonly logLevel: string | undefined;
  readonly logFormat: string | undefined;
  readonly watch: boolean;
  /** nginx-config: --sso-upstream, --listen, --auth-cache-seconds, --auth-cache-path; traefik-config and caddy-config: --sso-upstream. */
  readonly nginx: {
    readonly ssoUpstream: string;
    readonly listen: string | undefined;
    readonly authCacheSeconds: number | undefined;
    readonly authCachePath: string | undefined;
  };
}

const NAME = 'crowd-sso-proxy';
const LOG_LEVELS: readonly RuntimeConfig['logLevel'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly RuntimeConfig['logFormat'][] = ['json', 'pretty'];
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_INVALID = 2;

export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const parsed = await parseArguments(argv, io);
  if (typeof parsed === 'number') return parsed;
  const configPath = resolve(parsed.configPath);
  try {
    const load = () => loadConfig(configPath, { env: io.env, logLevel: parsed.logLevel, logFormat: parsed.logFormat });
    const config = await load();
    // Loaded only now: --help, --version and configuration errors answer without loading the whole proxy.
    const app = await import('../app.js');
    switch (parsed.command) {
      case 'serve': {
        const { serve } = await import('./serve.js');
        return await serve({ config, configPath, load, watch: parsed.watch });
      }
      case 'check': {
        const { runCheck } = await import('./check/run-check.js');
        return printCheck(await runCheck(config), io);
      }
      case 'metadata': {
        const xml = await app.renderSpMetadata(config);
        io.stdout.write(xml.endsWith('\n') ? xml : `${xml}\n`);
        return EXIT_OK;
      }
      case 'nginx-config': {
        const { renderNginxConfig } = await import('./nginx-config.js');
        io.stdout.write(renderNginxConfig(config, parsed.nginx));
        return EXIT_OK;
      }
      case 'traefik-config': {
        const { renderTraefikConfig } = await import('./traefik-config.js');
        io.stdout.write(renderTraefikConfig(config, { ssoUpstream: parsed.nginx.ssoUpstream }));
        return EXIT_OK;
      }
      case 'caddy-config': {
        const { renderCaddyConfig } = await import('./caddy-config.js');
        io.stdout.write(renderCaddyConfig(config, { ssoUpstream: parsed.nginx.ssoUpstream }));
        return EXIT_OK;
      }
    }
  } catch (error) {
    if (isConfigError(error)) {
      const lines = error.problems.map((p) => `  - ${p.path === '' ? p.message : `${p.path}: ${p.message}`}\n`);
      io.stderr.write(`${NAME}: invalid configuration in ${configPath}:\n${lines.join('')}`);
      return EXIT_INVALID;
    }
    io.stderr.write(`${NAME}: ${describeError(error)}\n`);
    return EXIT_FAILURE;
  }
}

/** The invocation, or the exit code when yargs already answered (--help, --version, a usage error). */
async function parseArguments(argv: readonly string[], io: CliIo): Promise<Invocation | number> {
  let command: Command = 'serve';
  const parser = yargs()
    .scriptName(NAME)
    .usage(`$0 [serve|check|metadata|nginx-config|traefik-config|caddy-config] [options]\n\nSAML single sign-on in front of Atlassian applications connected to Atlassian Crowd.`)
    .command(['serve', '$0'], 'Run the proxy until SIGTERM or SIGINT (the default command)', () => undefined, () => {
      command = 'serve';
    })
    .command('check', 'Check the configuration, Crowd, the IdP and every upstream, then exit (1 when something fails)', () => undefined, () => {
      command = 'check';
    })
    .command('metadata', 'Print the SAML SP metadata XML to register at the IdP', () => undefined, () => {
      command = 'metadata';
    })
    .command(
      'nginx-config',
      'Print an nginx include (http level) that asks the proxy about every request (auth_request, forward-auth mode)',
      (y) =>
        y
          .option('sso-upstream', { type: 'string', demandOption: true, describe: 'Where nginx reaches this proxy, e.g. http://127.0.0.1:8080' })
          .option('listen', { type: 'string', describe: 'listen parameters of the server blocks (default 80)' })
          .option('auth-cache-seconds', { type: 'number', describe: 'How long nginx reuses an allowing answer (default 5; 0 = no cache)' })
          .option('auth-cache-path', { type: 'string', describe: 'Where nginx keeps its auth cache (default /run/crowd-sso-proxy-auth; a tmpfs is best)' }),
      () => {
        command = 'nginx-config';
      },
    )
    .command(
      'traefik-config',
      'Print a Traefik dynamic configuration (file provider) with forwardAuth to the proxy (forward-auth mode)',
      (y) => y.option('sso-upstream', { type: 'string', demandOption: true, describe: 'Where Traefik reaches this proxy, e.g. http://127.0.0.1:8080' }),
      () => {
        command = 'traefik-config';
      },
    )
    .command(
      'caddy-config',
      'Print a Caddyfile with forward_auth to the proxy (forward-auth mode)',
      (y) => y.option('sso-upstream', { type: 'string', demandOption: true, describe: 'Where Caddy reaches this proxy, e.g. http://127.0.0.1:8080' }),
      () => {
        command = 'caddy-config';
      },
    )
    .option('config', {
      alias: 'c',
      type: 'string',
      default: io.env.CROWD_SSO_PROXY_CONFIG ?? 'proxy.config.json',
      describe: 'Configuration file (JSON with comments); env CROWD_SSO_PROXY_CONFIG',
    })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, describe: 'Overrides logLevel of the configuration file' })
    .option('watch', { type: 'boolean', default: false, describe: 'serve: reload the configuration when its file changes (as watchConfig: true); SIGHUP always reloads' })
    .option('log-format', { type: 'string', choices: LOG_FORMATS, describe: 'json lines, or pretty lines for a terminal; overrides logFormat of the configuration file' })
    .strict()
    .showHelpOnFail(false, `Run "${NAME} --help" for the commands and options.`)
    .help()
    .alias('help', 'h')
    .version(await readVersion())
    .exitProcess(false)
    .wrap(100);

  const outcome = await new Promise<{ error: Error | undefined; args: Record<string, unknown>; output: string }>((done) => {
    void parser.parse([...argv], {}, (error: Error | undefined | null, args: Record<string, unknown>, output: string) => {
      done({ error: error ?? undefined, args, output });
    });
  });
  if (outcome.error !== undefined) {
    io.stderr.write(`${outcome.output}\n`);
    return EXIT_INVALID;
  }
  if (outcome.output !== '') {
    io.stdout.write(`${outcome.output}\n`);
    return EXIT_OK;
  }
  const logLevel = outcome.args['log-level'];
  const logFormat = outcome.args['log-format'];
  return {
    command,
    configPath: String(outcome.args.config),
    logLevel: typeof logLevel === 'string' ? logLevel : undefined,
    logFormat: typeof logFormat === 'string' ? logFormat : undefined,
    watch: outcome.args.watch === true,
    nginx: {
      ssoUpstream: String(outcome.args['sso-upstream'] ?? ''),
      listen: typeof outcome.args.listen === 'string' ? outcome.args.listen : undefined,
      authCacheSeconds: typeof outcome.args['auth-cache-seconds'] === 'number' ? outcome.args['auth-cache-seconds'] : undefined,
      authCachePath: typeof outcome.args['auth-cache-path'] === 'string' ? outcome.args['auth-cache-path'] : undefined,
    },
  };
}

function printCheck(report: CheckReport, io: CliIo): number {
  const width = Math.max(0, ...report.items.map((item) => item.name.length));
  for (const item of report.items) {
    io.stdout.write(`${item.ok ? '✔' : '✖'} ${item.name.padEnd(width)}  ${item.detail}\n`);
  }
  return report.ok ? EXIT_OK : EXIT_FAILURE;
}

async function readVersion(): Promise<string> {
  const manifest: unknown = JSON.parse(await readFile(packageFilePath('package.json'), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** The message and its causes, for an administrator reading the terminal. */
function describeError(error: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = error; current !== undefined && messages.length < 5; ) {
    messages.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return messages.join('\n  caused by: ');
}
