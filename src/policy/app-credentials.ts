/**
 * Whether a request carries credentials of its own that the application checks itself: an `Authorization`
 * header with the Basic scheme (scripts, git over HTTP), Bearer (personal access tokens, OAuth 2) or OAuth
 * (OAuth 1.0a application links between Atlassian apps). Scheme names are case-insensitive (RFC 9110 §11.1).
 */
const APP_CREDENTIALS = /^(?:basic|bearer|oauth)\s+\S/i;

export function hasAppCredentials(authorization: string | undefined): boolean {
  return authorization !== undefined && APP_CREDENTIALS.test(authorization);
}
