import { constants } from 'node:os';

export interface StopSignalHandlers {
  /** The first SIGTERM or SIGINT: stop gracefully. */
  stop(signal: NodeJS.Signals): void;
  /** A second one while stopping: the operator does not want to wait. */
  force(signal: NodeJS.Signals): void;
}

/** Installs the SIGTERM/SIGINT handlers; returns their removal. */
export function handleStopSignals(handlers: StopSignalHandlers): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      handlers.force(signal);
      return;
    }
    stopping = true;
    handlers.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

/** The exit status of a process ended by `signal` (128 + its number), as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
