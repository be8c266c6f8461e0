import t from 'tap';
import { PROXY_APP, startStack, type StackOptions } from '../../support/stack.js';
import { crowdOf, loginWith, sortedGroups } from './identity-kit.js';

/** Jira lets in only members of jira-software-users (Crowd's application access), like a real Jira. */
function crowdWith(options: { proxyMayWrite?: boolean } = {}): StackOptions['crowd'] {
  return {
    applications: {
      [PROXY_APP.name]: { password: PROXY_APP.password, allowGenerateUserTokens: true, allowDirectoryWrites: options.proxyMayWrite ?? true },
      jira: { password: 'jira-pw', allowedGroups: ['jira-software-users'] },
      confluence: { password: 'confluence-pw' },
    },
    users: [
      { name: 'alice', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams', groups: ['jira-software-users', 'engineering'] },
    ],
  };
}

const identity = {
  username: [{ from: 'nameId', transforms: ['strip-email-domain', 'lowercase'] }],
  provisioning: { enabled: true, updateProfile: true, attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName' } },
  groups: { attribute: 'groups', map: { Engineering: ['engineering'] }, defaultGroups: ['jira-software-users'] },
};

const bob = { nameId: 'Bob.Brown@Example.com', attributes: { email: 'bob.brown@example.com', firstName: 'Bob', lastName: 'Brown', groups: ['Engineering'] } };

t.test('a user unknown to Crowd is created just in time, in its groups before the session: the first page already works', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: { identity } });
  const crowd = crowdOf(stack, t);
  const { res, browser, audit } = await loginWith(stack, bob);
  t.equal(res.status, 303);
  t.match(audit, {
    outcome: 'success',
    user: 'bob.brown',
    userCreated: true,
    nameId: 'Bob.Brown@Example.com',
    groupsAdded: ['engineering', 'jira-software-users'],
    groupsRemoved: [],
  });
  t.same(await crowd.getUser('bob.brown'), {
    name: 'bob.brown',
    active: true,
    email: 'bob.brown@example.com',
    firstName: 'Bob',
    lastName: 'Brown',
    displayName: 'Bob Brown',
  });
  t.same(sortedGroups(await crowd.getDirectGroups('bob.brown')), ['engineering', 'jira-software-users']);
  const page = await browser.navigate(res.headers.location as string);
  t.match(page.body, /Logged in as <b>bob\.brown<\/b>/, "Jira's own cookie validation lets the new user in on the very first page");
  t.notMatch(JSON.stringify(stack.logs), /"password"\s*:\s*"(?!\[redacted\])/, 'no password in any log line');

  const again = await loginWith(stack, bob);
  t.match(again.audit, { outcome: 'success', user: 'bob.brown', userCreated: false, groupsAdded: [], profileUpdated: [] }, 'the next login finds the user');
});

t.test('updateProfile: changed IdP attributes are written to Crowd on later logins', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: { identity } });
  const crowd = crowdOf(stack, t);
  await loginWith(stack, bob);
  const married = await loginWith(stack, { ...bob, attributes: { ...bob.attributes, lastName: 'Brown-Smith', email: 'BOB.BROWN@example.com' } });
  t.match(married.audit, { outcome: 'success', userCreated: false, profileUpdated: ['lastName'] }, 'an email differing only in case is no change');
  t.match(await crowd.getUser('bob.brown'), { lastName: 'Brown-Smith', email: 'bob.brown@example.com', active: true });
});

t.test('a directory that refuses the profile update does not lock the user out', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith({ proxyMayWrite: false }), config: { identity } });
  const { res, audit } = await loginWith(stack, { nameId: 'alice@example.com', attributes: { lastName: 'Adams-Jones', groups: ['Engineering'] } });
  t.equal(res.status, 303);
  t.match(audit, { outcome: 'success', level: 40, profileUpdated: [], warnings: [/profile not updated .*APPLICATION_PERMISSION_DENIED/] });
});

t.test('provisioning failures: a clear page and a log line naming Crowd’s reason', async (t) => {
  t.test('no permission to add users: APPLICATION_PERMISSION_DENIED', async (t) => {
    const stack = await startStack(t, { crowd: crowdWith({ proxyMayWrite: false }), config: { identity } });
    const { res, audit } = await loginWith(stack, bob);
    t.equal(res.status, 502);
    t.match(res.body, /could not be created here automatically\. An administrator has to fix this\./);
    t.notOk(res.headers['set-cookie']);
    t.match(audit, { outcome: 'failure', reason: 'crowd_rejected', detail: 'APPLICATION_PERMISSION_DENIED', user: 'bob.brown', userCreated: false });
    const detail = stack.logs.find((line) => line.detail === 'APPLICATION_PERMISSION_DENIED' && line.event === undefined);
    t.match(detail?.msg, /POST \/user: APPLICATION_PERMISSION_DENIED/);
    t.match(detail?.msg, /Applications → crowd-sso-proxy → Permissions/);
  });

  t.test('invalid user: INVALID_USER', async (t) => {
    const stack = await startStack(t, { crowd: crowdWith(), config: { identity } });
    const { res, audit } = await loginWith(stack, { ...bob, nameId: `${'x'.repeat(300)}@example.com` });
    t.equal(res.status, 403);
    t.match(res.body, /No account/);
    t.match(res.body, /could not be created here automatically/);
    t.match(audit, { outcome: 'failure', reason: 'identity_unmapped', detail: 'INVALID_USER', userCreated: false });
    t.match(stack.logs.find((line) => line.detail === 'INVALID_USER' && line.event === undefined)?.msg, /Crowd refused to create user "x+" \(POST \/user: INVALID_USER "Invalid user name/);
  });

  t.test('duplicate: two first logins at once create the user once; both sign in', async (t) => {
    const stack = await startStack(t, { crowd: { ...crowdWith(), latencyMs: 20 }, config: { identity } });
    const results = await Promise.all([loginWith(stack, bob), loginWith(stack, bob)]);
    t.same(results.map((result) => result.res.status), [303, 303]);
    t.same(results.map((result) => result.audit.userCreated).sort(), [false, true], 'exactly one created it');
  });
});

t.test('provisioning off (the default): an unknown user gets the no-account page and nothing is created', async (t) => {
  const stack = await startStack(t, { crowd: crowdWith(), config: { identity: { ...identity, provisioning: { enabled: false } } } });
  const crowd = crowdOf(stack, t);
  const { res, audit } = await loginWith(stack, bob);
  t.equal(res.status, 403);
  t.match(res.body, /no matching account/);
  t.match(audit, { outcome: 'failure', reason: 'identity_unmapped', user: 'bob.brown', userCreated: false });
  t.equal(await crowd.getUser('bob.brown'), null);
  t.equal(stack.crowd.countCalls('POST', '/user'), 0);
});
