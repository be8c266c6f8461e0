/**
 * Works out who the client is: the socket peer, unless that peer is one of `trustedProxies`, in which case
 * `X-Forwarded-For` is walked from the right, skipping trusted hops (the rule Crowd documents, crowd.md §3.3).
 * Forwarding headers from any other peer are ignored entirely, so a browser cannot choose its own address.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { compileAddressList, normalizeAddress } from '../policy/address-matcher.js';

export type Scheme = 'http' | 'https';

export interface ClientAddress {
  /**
   * The client IP in the form forwarded upstream (IPv4-mapped IPv6 `::ffff:1.2.3.4` becomes `1.2.3.4`).
   * Empty string when the socket has no address any more (it closed before the request was handled).
   */
  readonly clientIp: string;
  /**
   * The scheme the client used: `X-Forwarded-Proto` (first value, `http` or `https` only) when the peer is
   * trusted; otherwise `https` when the listener itself is TLS; otherwise `undefined` = unknown, and the
   * caller falls back to `publicScheme`.
   */
  readonly proto: Scheme | undefined;
  /** True when the socket peer is in `trustedProxies`, i.e. its forwarding headers were believed. */
  readonly fromTrustedProxy: boolean;
}

/** What the resolver needs of the request's socket. */
export interface PeerSocket {
  readonly remoteAddress?: string | undefined;
}

export type ClientAddressResolver = (socket: PeerSocket, headers: IncomingHttpHeaders, listenerProto: Scheme) => ClientAddress;

/** On a socket whose peer is not a trusted proxy: the answer for every request on it. */
const PEER = Symbol('client address');
type KnownPeer = PeerSocket & { [PEER]?: { readonly owner: object; readonly address: ClientAddress } };

/**
 * Compiles `trustedProxies` (IP addresses or CIDR ranges, IPv4 or IPv6) once into a `BlockList`.
 * Throws ConfigError naming every entry that is not an address or range.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  const isTrusted = compileAddressList(trustedProxies, 'trustedProxies');
  // A peer that is not a trusted proxy gets the same answer for every request of its connection (keep-alive: many),
  // so it is kept on the socket (a symbol-keyed property, see forwarder.ts), with the resolver that worked it out: a
  // reload's new trustedProxies decide afresh.
  const owner: object = {};

  return function resolveClientAddress(socket, headers, listenerProto) {
    const listenerScheme: Scheme | undefined = listenerProto === 'https' ? 'https' : undefined;
    const known = (socket as KnownPeer)[PEER];
    if (known !== undefined && known.owner === owner && known.address.proto === listenerScheme) return known.address;
    const socketAddress = socket.remoteAddress;
    if (socketAddress === undefined) return { clientIp: '', proto: listenerScheme, fromTrustedProxy: false };
    const peer = normalizeAddress(socketAddress);
    if (peer === undefined || !isTrusted(peer)) {
      const answer: ClientAddress = { clientIp: peer ?? socketAddress, proto: listenerScheme, fromTrustedProxy: false };
      (socket as KnownPeer)[PEER] = { owner, address: answer };
      return answer;
    }
    return {
      clientIp: walkForwardedFor(headerText(headers['x-forwarded-for']), peer, isTrusted),
      proto: forwardedProto(headerText(headers['x-forwarded-proto'])) ?? listenerScheme,
      fromTrustedProxy: true,
    };
  };
}

/**
 * Right to left through `X-Forwarded-For` (Node joins repeated headers with `, `): the first address that
 * is not a trusted proxy is the client. Empty list elements are skipped. An entry that is not a bare IP
 * address (`unknown`, `1.2.3.4:80`, garbage) ends the walk, and the last good address (a trusted hop, or
 * the peer) is the answer. When every hop is trusted, the left-most address is.
 */
function walkForwardedFor(value: string | undefined, peer: string, isTrusted: (address: string) => boolean): string {
  if (value === undefined) return peer;
  let client = peer;
  let end = value.length;
  while (end > 0) {
    const comma = value.lastIndexOf(',', end - 1);
    const entry = value.slice(comma + 1, end).trim();
    end = comma;
    if (entry === '') continue;
    const address = normalizeAddress(entry);
    if (address === undefined) return client;
    if (!isTrusted(address)) return address;
    client = address;
  }
  return client;
}

/** Node joins repeated headers into one string; a hand-built headers object may still hold a list. */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function forwardedProto(value: string | undefined): Scheme | undefined {
  if (value === undefined) return undefined;
  const comma = value.indexOf(',');
  const first = (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase();
  return first === 'http' || first === 'https' ? first : undefined;
}

