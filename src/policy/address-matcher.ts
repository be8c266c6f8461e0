/**
 * IP addresses and CIDR ranges from the configuration (trustedProxies, apps[].emergencyAccess.allowFrom), compiled
 * into the predicates the request path asks. Addresses are compared in their forwarded form (an IPv4-mapped IPv6
 * address is the plain IPv4 address).
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError, type ConfigProblem } from '../errors.js';

const MAPPED_IPV4_PREFIX = '::ffff:';

/** The address in its forwarded form, or undefined when `raw` is not an IP address. */
export function normalizeAddress(raw: string): string | undefined {
  const family = isIP(raw);
  if (family === 4) return raw;
  if (family !== 6) return undefined;
  if (raw.length > MAPPED_IPV4_PREFIX.length && raw.slice(0, MAPPED_IPV4_PREFIX.length).toLowerCase() === MAPPED_IPV4_PREFIX) {
    const ipv4 = raw.slice(MAPPED_IPV4_PREFIX.length);
    if (isIP(ipv4) === 4) return ipv4;
  }
  return raw.toLowerCase();
}

/**
 * A predicate for "this client IP (as the resolver reports it) is in `entries`" (IP addresses or CIDR ranges), e.g.
 * apps[].emergencyAccess.allowFrom. Throws ConfigError naming every entry, below `keyPath`, that is not one.
 */
export function compileAddressMatcher(entries: readonly string[], keyPath: string): (clientIp: string) => boolean {
  const contains = compileAddressList(entries, keyPath);
  return (clientIp) => {
    const address = normalizeAddress(clientIp);
    return address !== undefined && contains(address);
  };
}

/** Distinct addresses whose answer is remembered (a load balancer in front means a handful of peers). */
const MEMO_MAX_ADDRESSES = 1024;

/**
 * "Is this normalized address in `entries`?", asked on every request. BlockList.check builds a native SocketAddress
 * per call, so answers are remembered (bounded); an empty list answers at once.
 */
export function compileAddressList(entries: readonly string[], keyPath: string): (address: string) => boolean {
  const list = new BlockList();
  const problems: ConfigProblem[] = [];
  entries.forEach((entry, index) => {
    const slash = entry.indexOf('/');
    const rawAddress = slash === -1 ? entry : entry.slice(0, slash);
    const rawMaxPrefix = isIP(rawAddress) === 4 ? 32 : 128;
    const prefixText = slash === -1 ? String(rawMaxPrefix) : entry.slice(slash + 1);
    const rawPrefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    const address = rawPrefix <= rawMaxPrefix ? normalizeAddress(rawAddress) : undefined;
    const family = address === undefined ? 0 : isIP(address);
    // A mapped IPv4 range (`::ffff:10.0.0.0/104`) becomes the plain IPv4 range, like the addresses matched against it.
    const prefix = family === 4 && rawMaxPrefix === 128 ? rawPrefix - 96 : rawPrefix;
    if (address === undefined || !(prefix >= 0)) {
      problems.push({
        path: `${keyPath}[${index}]`,
        message: `"${entry}" is not an IP address or CIDR range. Use forms like "10.0.0.5", "10.0.0.0/8" or "2001:db8::/32".`,
      });
      return;
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  });
  if (problems.length > 0) throw new ConfigError(problems);
  if (entries.length === 0) return () => false;
  const answers = new Map<string, boolean>();
  return (address) => {
    let answer = answers.get(address);
    if (answer === undefined) {
      answer = list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
      if (answers.size >= MEMO_MAX_ADDRESSES) answers.clear();
      answers.set(address, answer);
    }
    return answer;
  };
}

/**
 * The address a budget belongs to: an IPv4 address as it is; an IPv6 address by its /64 network, the block one
 * site or host gets (it can choose any address in it).
 */
export function budgetKey(clientIp: string): string {
  if (!clientIp.includes(':')) return clientIp;
  const groups = expandIpv6(clientIp);
  return groups === undefined ? clientIp : `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros, lower-case; undefined when it is not one. */
function expandIpv6(address: string): string[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  // An embedded IPv4 address counts as the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : (halves[1] as string).split(':');
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array.from({ length: halves.length === 1 ? 0 : missing }, () => '0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
