/**
 * nginx as the reverse-proxy reference row, when the `nginx` binary is installed (Debian package `nginx`). It runs
 * one worker process (like one Node.js process), keeps upstream connections alive, passes WebSocket upgrades and
 * streams responses (`proxy_buffering off`, like http-proxy). Everything it writes stays in its own temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCpus } from './cpu-plan.js';
import { freePort } from './free-port.js';
import { waitForPort } from './wait-for-port.js';

export interface NginxProxy {
  readonly port: number;
  /** The nginx master process (its worker is a child of it). */
  readonly pid: number;
  close(): Promise<void>;
}

const NGINX_CANDIDATES = ['nginx', '/usr/sbin/nginx'];

/** The nginx binary, or undefined when none is installed. */
export function findNginx(): string | undefined {
  return NGINX_CANDIDATES.find((candidate) => spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0);
}

/**
 * The top of every benchmark nginx configuration: one worker, no access log, every file nginx writes in `dir`. The
 * caller closes the `http {` block.
 *
 * Client connections stay open for any number of requests, as Apache httpd's (`MaxKeepAliveRequests 0`) and
 * Node.js's do. nginx's default closes one after every 1,000 requests, and autocannon then times each later response
 * of that connection from the start of the request the close lost: at 1 connection the recorded latencies added up to
 * 3 times the elapsed time, and the nginx rows' p50 and p99 counted two or three requests each.
 */
export function nginxConfigHead(dir: string): string {
  return `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000000;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`;
}

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `${nginxConfigHead(dir)}  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      # As nginx-config writes it: unbuffered responses are read in pieces of this size.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_busy_buffers_size 32k;
    }
  }
}
`;
}

/** `cpuList`: the CPUs nginx runs on (its worker inherits them); undefined = wherever the system puts it. */
export function startNginxProxy(binary: string, upstreamPort: number, cpuList: string | undefined): Promise<NginxProxy> {
  return startNginx(binary, (dir, port) => nginxConfig(dir, port, upstreamPort), cpuList);
}

/** nginx in the foreground with the configuration `config` writes for its temporary folder and port. */
export async function startNginx(binary: string, config: (dir: string, port: number) => string, cpuList: string | undefined): Promise<NginxProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'crowd-sso-proxy-bench-nginx-'));
  // Started as root, nginx runs its worker as nobody: the worker must reach the temp and cache folders nginx creates
  // (and hands to that user) in here.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const configFile = join(dir, 'nginx.conf');
  writeFileSync(configFile, config(dir, port));
  const command = onCpus(cpuList, binary, ['-p', dir, '-c', configFile, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  const child = spawn(command.command, command.args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, 'nginx', () => child.exitCode !== null);
  } catch (error) {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    // taskset execs nginx, so the process started is nginx's master.
    pid: child.pid as number,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
