import type { ForwardRequestSite } from '../flows/forward-request.js';
import type { AppUpstream } from '../proxy/forwarder.js';

/**
 * Everything built for one app at startup, found together by the router (fastify's per-route context): the app's
 * configuration, its compiled policy, its Crowd-application check (forward-request.ts) and its upstream.
 */
export interface AppSite extends ForwardRequestSite {
  readonly upstream: AppUpstream;
}
