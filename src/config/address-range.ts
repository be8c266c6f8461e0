import { isIP } from 'node:net';

/** `10.0.0.5`, `10.0.0.0/8`, `2001:db8::/32`: an IP address, or a CIDR range with a prefix that fits its family. */
export function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
