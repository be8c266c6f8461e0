import t from 'tap';
import { HOSTS, startStack } from '../../support/stack.js';
import { auditLines, loginWith } from './identity-kit.js';

const UID = 'urn:oid:0.9.2342.19200300.100.1.1';
const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';

t.test('by default the NameID is the Crowd username, compared ignoring case as Crowd does', async (t) => {
  const stack = await startStack(t);
  const { res, audit } = await loginWith(stack, { nameId: 'ALICE' });
  t.equal(res.status, 303);
  t.match(res.headers['set-cookie'], [/crowd\.token_key=/]);
  t.match(audit, {
    event: 'login',
    outcome: 'success',
    reason: 'signed_in',
    user: 'alice',
    nameId: 'ALICE',
    idp: stack.idp.entityId,
    strategy: 'identity.username[0]',
    userCreated: false,
    groupsAdded: [],
    groupsRemoved: [],
    app: 'jira',
  });
  t.type(audit.clientIp, 'string');
  t.type(audit.reqId, 'string');
  t.equal(stack.crowd.sessions.size, 1);
  t.equal([...stack.crowd.sessions.values()][0]?.username, 'alice', "the session is made for Crowd's spelling of the name");
});

t.test('strategies are tried in order; an attribute is found by Name or FriendlyName; the first match wins', async (t) => {
  const stack = await startStack(t, {
    config: {
      identity: {
        username: [
          { from: 'attribute', attribute: 'uid' },
          { from: 'attribute', attribute: MAIL, lookup: 'email' },
          { from: 'nameId' },
        ],
      },
    },
  });
  stack.crowd.addUser({ name: 'bob', email: 'bob@example.com' });

  const byFriendlyName = await loginWith(stack, { nameId: 'ignored', attributes: { [UID]: 'alice' }, friendlyNames: { [UID]: 'uid' } });
  t.equal(byFriendlyName.res.status, 303);
  t.match(byFriendlyName.audit, { user: 'alice', strategy: 'identity.username[0]' }, 'uid by its FriendlyName');

  const byEmail = await loginWith(stack, { nameId: 'ignored', attributes: { [MAIL]: 'BOB@example.com' } });
  t.equal(byEmail.res.status, 303);
  t.match(byEmail.audit, { user: 'bob', strategy: 'identity.username[1]' }, 'no uid: the email lookup (ignoring case)');

  const byNameId = await loginWith(stack, { nameId: 'alice', attributes: { [UID]: 'nobody', [MAIL]: 'nobody@example.com' } });
  t.equal(byNameId.res.status, 303);
  t.match(byNameId.audit, { user: 'alice', strategy: 'identity.username[2]' }, 'earlier strategies without a match pass to the next');

  const first = await loginWith(stack, { nameId: 'bob', attributes: { uid: 'alice' } });
  t.match(first.audit, { user: 'alice', strategy: 'identity.username[0]' }, 'the first strategy that matches wins');
});

t.test('transforms turn UPNs, Windows account names and prefixes into Crowd usernames', async (t) => {
  const stack = await startStack(t, {
    config: {
      identity: {
        username: [
          { from: 'attribute', attribute: 'upn', transforms: ['strip-email-domain', 'lowercase'] },
          { from: 'attribute', attribute: 'windowsaccountname', transforms: ['strip-windows-domain', { replace: { pattern: '^adm_', with: '' } }] },
        ],
      },
    },
  });
  const upn = await loginWith(stack, { nameId: 'x', attributes: { upn: 'Alice@Corp.Example.com' } });
  t.match(upn.audit, { outcome: 'success', user: 'alice', strategy: 'identity.username[0]' });
  const windows = await loginWith(stack, { nameId: 'x', attributes: { windowsaccountname: 'CORP\\adm_alice' } });
  t.match(windows.audit, { outcome: 'success', user: 'alice', strategy: 'identity.username[1]' });
});

t.test('email lookup: zero matches passes on, one signs in, two are refused with a clear page, never a guess', async (t) => {
  const stack = await startStack(t, { config: { identity: { username: [{ from: 'nameId', lookup: 'email' }] } } });
  stack.crowd.addUser({ name: 'pat.one', email: 'pat@example.com' });
  stack.crowd.addUser({ name: 'pat.two', email: 'PAT@example.com' });

  const none = await loginWith(stack, { nameId: 'nobody@example.com' });
  t.equal(none.res.status, 403);
  t.match(none.res.body, /No account/);
  t.match(none.audit, { outcome: 'failure', reason: 'identity_unmapped', detail: 'crowd_user_not_found', nameId: 'nobody@example.com' });

  const one = await loginWith(stack, { nameId: 'Alice@Example.com' });
  t.equal(one.res.status, 303);
  t.match(one.audit, { outcome: 'success', user: 'alice' });

  const two = await loginWith(stack, { nameId: 'pat@example.com' });
  t.equal(two.res.status, 403);
  t.match(two.res.body, /Account not unique/);
  t.match(two.res.body, /more than one account/);
  t.match(two.res.body, /Reference: <code>[^<]+<\/code>/, 'the page carries the correlation id');
  t.notOk(two.res.headers['set-cookie'], 'no session');
  t.match(two.audit, { outcome: 'failure', reason: 'identity_ambiguous', detail: 'ambiguous_email', code: 'ERR_IDENTITY_AMBIGUOUS' });
  const detail = stack.logs.find((line) => line.code === 'ERR_IDENTITY_AMBIGUOUS' && line.event === undefined);
  t.match(detail?.msg, /"pat\.one", "pat\.two"/, 'the log names the accounts');
  t.equal(stack.crowd.sessions.size, 1, 'only the unambiguous login made a Crowd session');
});

t.test('a multi-valued username attribute: one existing user signs in, two existing users are refused', async (t) => {
  const stack = await startStack(t, { config: { identity: { username: [{ from: 'attribute', attribute: 'uid' }] } } });
  stack.crowd.addUser({ name: 'bob' });
  const oneExists = await loginWith(stack, { nameId: 'x', attributes: { uid: ['nobody', 'ALICE', 'alice'] } });
  t.match(oneExists.audit, { outcome: 'success', user: 'alice' });
  const twoExist = await loginWith(stack, { nameId: 'x', attributes: { uid: ['alice', 'bob'] } });
  t.equal(twoExist.res.status, 403);
  t.match(twoExist.audit, { outcome: 'failure', reason: 'identity_ambiguous', detail: 'ambiguous_username' });
});

t.test('no strategy matches: the no-account page; the log says what was tried', async (t) => {
  const stack = await startStack(t, {
    config: { identity: { username: [{ from: 'attribute', attribute: 'uid' }, { from: 'nameId', transforms: ['strip-email-domain'] }] } },
  });
  const { res, audit } = await loginWith(stack, { nameId: 'zed@example.com' }, { host: HOSTS.confluence });
  t.equal(res.status, 403);
  t.match(res.body, /No account/);
  t.match(audit, { outcome: 'failure', reason: 'identity_unmapped', nameId: 'zed@example.com', app: 'confluence', userCreated: false });
  const detail = stack.logs.find((line) => line.code === 'ERR_IDENTITY' && line.event === undefined);
  t.match(detail?.msg, /identity\.username\[0\] \(attribute "uid", lookup by username\): no value; identity\.username\[1\] \(the NameID, lookup by username\): "zed" not found/);
  t.match(detail?.msg, /identity\.provisioning is off/);
  t.equal(auditLines(stack).length, 1, 'one audit event for the one attempt');
});
