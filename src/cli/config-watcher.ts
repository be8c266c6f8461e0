/**
 * `--watch` / `watchConfig`: calls `onChange` when the configuration file's content changes. Watches the file's
 * directory rather than the file, so that editors that save by writing a new file and renaming it over the old
 * one (and Kubernetes ConfigMap volumes, which swap a symlink) keep being seen. Events are debounced and the
 * content compared, so a save that changes nothing, or a burst of events for one save, is no reload.
 */
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface ConfigWatcherOptions {
  /** Quiet time after the last event before the file is read; default 300 ms. */
  readonly debounceMs?: number;
  /** The directory cannot be watched any more (e.g. it was removed). */
  readonly onError: (error: Error) => void;
}

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(filePath: string, onChange: () => void, options: ConfigWatcherOptions): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 300;
  let lastDigest: Promise<string | undefined> = digestOf(filePath);
  let timer: NodeJS.Timeout | undefined;

  const compare = (): void => {
    const previous = lastDigest;
    lastDigest = digestOf(filePath);
    void Promise.all([previous, lastDigest]).then(([before, now]) => {
      // A missing file is the middle of a save (or a mistake): the next event brings the new content.
      if (now !== undefined && now !== before) onChange();
      else if (now === undefined) lastDigest = previous;
    });
  };
  const watcher = watch(dirname(filePath), { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(compare, debounceMs);
  });
  watcher.on('error', options.onError);

  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

async function digestOf(filePath: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(filePath)).digest('hex');
  } catch {
    return undefined;
  }
}
