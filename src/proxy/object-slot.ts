/**
 * A value attached to an object as a symbol-keyed property of the object itself: what the request path uses instead
 * of a WeakMap to link a client response to its upstream request, its access-log facts and so on.
 *
 * Why not a WeakMap: its entries are ephemerons, and V8's minor GC keeps an ephemeron's value alive while its key is
 * merely unreached, so a finished request whose value leads back to its key (response → upstream request → response)
 * survived every scavenge and was promoted to the old generation, a whole request graph (~16 KB) at a time. Measured
 * on the cache-hit benchmark: scavenges took ~4.5× as long and a full GC came every few seconds; with slots the
 * request graph dies young, as it does in a bare http-proxy.
 */
export interface ObjectSlot<K extends object, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
}

export function objectSlot<K extends object, V>(description: string): ObjectSlot<K, V> {
  const slot = Symbol(description);
  const holder = (key: K): Record<symbol, V | undefined> => key as unknown as Record<symbol, V | undefined>;
  return {
    get: (key) => holder(key)[slot],
    set: (key, value) => {
      holder(key)[slot] = value;
    },
    delete: (key) => {
      holder(key)[slot] = undefined;
    },
  };
}
