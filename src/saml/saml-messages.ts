/** SAML protocol messages as they travel through the browser: one home for the SAML adapter, the flows and http/. */

/** Where to send the browser with a SAML message: a redirect, or an auto-submitted form (HTTP-POST binding). */
export type OutgoingSamlMessage =
  | { readonly binding: 'redirect'; readonly url: string }
  | { readonly binding: 'post'; readonly url: string; readonly fields: Readonly<Record<string, string>> }
  /** Not possible (no IdP endpoint, no SP key); `reason` says why, for the log. */
  | { readonly binding: 'none'; readonly reason: string };

/** A logout message as it arrived at the SLO endpoint, over either binding. */
export type IncomingSamlMessage =
  | { readonly binding: 'redirect'; readonly rawQuery: string }
  | { readonly binding: 'post'; readonly samlRequest: string | undefined; readonly samlResponse: string | undefined; readonly relayState: string | undefined };
