/**
 * crowd-sso-proxy as installed: `bin/crowd-sso-proxy.js serve` in a child process (needs `npm run build`). Used for
 * the `workers` row, where the command line starts the node:cluster workers.
 */
import { spawn } from 'node:child_process';
import { packageFilePath } from '../src/config/package-file.js';
import { onCpus } from './cpu-plan.js';
import { waitForPort } from './wait-for-port.js';

export interface CliProxy {
  readonly pid: number;
  close(): Promise<void>;
}

/** `cpuList`: the CPUs the primary and its workers run on; undefined = wherever the system puts them. */
export async function startCliProxy(configPath: string, port: number, cpuList: string | undefined): Promise<CliProxy> {
  const command = onCpus(cpuList, process.execPath, [packageFilePath('bin/crowd-sso-proxy.js'), 'serve', '--config', configPath]);
  const child = spawn(command.command, command.args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitForPort(port, 'crowd-sso-proxy serve', () => child.exitCode !== null || child.signalCode !== null);
  } catch (error) {
    await close();
    throw error;
  }
  return { pid: child.pid as number, close };
}
