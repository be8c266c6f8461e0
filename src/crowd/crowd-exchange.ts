/**
 * One HTTP exchange with Crowd on undici's dispatcher API, bounded by a deadline: the answer's status, content type and
 * body text, or the transport error.
 *
 * Why not `pool.request()` with `AbortSignal.timeout()`: a token never seen before costs one Crowd call, and under a
 * flood of made-up cookies that call is the proxy's work. Measured on the cache-miss benchmark row (proxy CPU per
 * validation), `request()` spent most of its cost outside the exchange itself: an AsyncResource and a body Readable per
 * call, the body read through stream events, and an AbortSignal whose timer is never cleared (each one fires
 * `crowd.timeoutMs` later, building a DOMException and dispatching an abort event for a call long finished). This
 * handler collects the few body chunks itself and clears its timer when the answer is in.
 */
import type { Dispatcher } from 'undici';

export interface CrowdAnswer {
  readonly status: number;
  /** Lower case; '' when absent. */
  readonly contentType: string;
  readonly text: string;
}

/** What a call that outlived its deadline fails with (`name` as the platform's timeout errors have it). */
export class DeadlineError extends Error {
  override readonly name = 'TimeoutError';
}

class CrowdExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private contentType = '';
  private readonly chunks: Buffer[] = [];
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (answer: CrowdAnswer) => void,
    private readonly reject: (error: Error) => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.expire(timeoutMs), timeoutMs);
  }

  /** Called again when undici retries the request on another connection: the newest controller is the one to abort. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new DeadlineError('the deadline passed before the request was sent'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx informational answers come before the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    const header = headers['content-type'];
    this.contentType = (Array.isArray(header) ? header.join(',') : header ?? '').toLowerCase();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settle();
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    // As the Fetch standard reads text: a leading byte order mark is not part of it.
    const start = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
    this.resolve({ status: this.status, contentType: this.contentType, text: body.toString('utf8', start) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(error);
  }

  private expire(timeoutMs: number): void {
    if (this.settled) return;
    this.settle();
    const error = new DeadlineError(`no complete answer within ${timeoutMs} ms`);
    this.controller?.abort(error);
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}

/** Sends `options` through `dispatcher`; rejects with undici's error, or a DeadlineError after `timeoutMs`. */
export function exchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, timeoutMs: number): Promise<CrowdAnswer> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(options, new CrowdExchange(resolve, reject, timeoutMs));
  });
}
