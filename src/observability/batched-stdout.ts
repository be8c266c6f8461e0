/**
 * Where JSON log lines go by default: stdout, written in batches instead of once per line. A line waits at most
 * FLUSH_DELAY_MS for others to join it (or until the batch is full), so under load the access log costs one system
 * call per dozen requests, not one per request, and a quiet proxy's line still appears at once for a reader. What is
 * pending when the process exits is written then.
 */
import type { DestinationStream } from 'pino';

/**
 * A batch is at most this many bytes (unless one line is longer): writes up to PIPE_BUF are atomic on a pipe, so
 * the batches of several workers sharing stdout never interleave within a line.
 */
const MAX_BATCH_BYTES = 4096;
/** How long a line may wait for others to share its write. */
const FLUSH_DELAY_MS = 20;

export interface BatchedStdout extends DestinationStream {
  /** Writes what is pending now. */
  flush(): void;
}

let shared: BatchedStdout | undefined;

/** The process's one batched stdout (every logger of the process shares it, so lines keep their order). */
export function batchedStdout(): BatchedStdout {
  shared ??= createBatchedWriter(process.stdout);
  return shared;
}

function createBatchedWriter(out: NodeJS.WritableStream): BatchedStdout {
  let lines: string[] = [];
  let bytes = 0;
  let scheduled = false;

  function flush(): void {
    if (lines.length === 0) return;
    const batch = lines.length === 1 ? (lines[0] as string) : lines.join('');
    lines = [];
    bytes = 0;
    out.write(batch);
  }

  function flushScheduled(): void {
    scheduled = false;
    flush();
  }

  process.on('exit', flush);
  return {
    write(line: string): void {
      const size = Buffer.byteLength(line);
      if (bytes + size > MAX_BATCH_BYTES) flush();
      lines.push(line);
      bytes += size;
      if (!scheduled) {
        scheduled = true;
        setTimeout(flushScheduled, FLUSH_DELAY_MS).unref();
      }
    },
    flush,
  };
}
