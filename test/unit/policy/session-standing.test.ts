/** Session standing: the IdP's SessionNotOnOrAfter, saml.maxSessionAgeSeconds and the app's required authentication context. */
import t from 'tap';
import { hasAppCredentials } from '../../../src/policy/app-credentials.js';
import { judgeSession } from '../../../src/policy/session-standing.js';

const MFA = 'http://schemas.microsoft.com/claims/multipleauthn';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const NOW = Date.parse('2030-01-01T12:00:00Z');
const record = (changes: Partial<Parameters<typeof judgeSession>[0] & object> = {}) => ({
  createdAtMs: NOW - 3_600_000,
  sessionNotOnOrAfterMs: undefined,
  authnContextClassRef: PASSWORD,
  ...changes,
});
const none = { maxSessionAgeMs: undefined, requireRecord: false, requiredClassRefs: undefined };

t.test('the session standing by its record', async (t) => {
  const cases: [string, ReturnType<typeof judgeSession>, ReturnType<typeof judgeSession>][] = [
    ['no limits', judgeSession(record(), NOW, none), 'valid'],
    ['no record (a session the proxy did not create): valid without a context requirement', judgeSession(undefined, NOW, none), 'valid'],
    ['no record with saml.requireSsoSession: unrecorded', judgeSession(undefined, NOW, { ...none, requireRecord: true }), 'unrecorded'],
    ['a record with saml.requireSsoSession', judgeSession(record(), NOW, { ...none, requireRecord: true }), 'valid'],
    ['SessionNotOnOrAfter ahead', judgeSession(record({ sessionNotOnOrAfterMs: NOW + 1 }), NOW, none), 'valid'],
    ['SessionNotOnOrAfter reached', judgeSession(record({ sessionNotOnOrAfterMs: NOW }), NOW, none), 'expired'],
    ['younger than the maximum age', judgeSession(record(), NOW, { ...none, maxSessionAgeMs: 3_600_001 }), 'valid'],
    ['as old as the maximum age', judgeSession(record(), NOW, { ...none, maxSessionAgeMs: 3_600_000 }), 'too-old'],
    ['made with MFA where MFA is required', judgeSession(record({ authnContextClassRef: MFA }), NOW, { ...none, requiredClassRefs: [MFA] }), 'valid'],
    ['made with a password where MFA is required', judgeSession(record(), NOW, { ...none, requiredClassRefs: [MFA] }), 'weak'],
    ['no record where MFA is required', judgeSession(undefined, NOW, { ...none, requiredClassRefs: [MFA] }), 'weak'],
    ['an ended session is ended before it is weak', judgeSession(record({ sessionNotOnOrAfterMs: NOW - 1 }), NOW, { ...none, requiredClassRefs: [MFA] }), 'expired'],
  ];
  for (const [name, actual, expected] of cases) t.equal(actual, expected, name);
});

t.test('requests with their own credentials', async (t) => {
  const cases: [string | undefined, boolean][] = [
    ['Basic YWxpY2U6c2VjcmV0', true],
    ['basic YWxpY2U6c2VjcmV0', true],
    ['Bearer NjI4MjQ4NTk2OTk2OmJ7', true],
    ['OAuth oauth_consumer_key="jira", oauth_signature="x"', true],
    ['Bearer', false],
    ['Negotiate YIIG', false],
    ['Digest username="a"', false],
    ['', false],
    [undefined, false],
  ];
  for (const [header, expected] of cases) t.equal(hasAppCredentials(header), expected, String(header));
});
