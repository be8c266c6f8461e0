/**
 * Identity mapping with a real IdP, in Chromium: SimpleSAMLphp sends the user's email address as an emailAddress
 * NameID (`simplesaml.nameidattribute` = `email`), and the proxy finds the Crowd user by it (`lookup: "email"`); a
 * person Crowd does not know yet is created just in time from SimpleSAMLphp's attributes and signed in on the first
 * page.
 */
import t from 'tap';
import { createCrowdClient } from '../../../src/crowd/crowd-client.js';
import { chromiumAvailable } from '../../support/chromium.js';
import { NAMEID_EMAIL, loginAtIdp, simpleSamlPhpAvailable, startRealIdpStack } from '../../support/simplesamlphp.js';
import { HOSTS, PROXY_APP, SP_ENTITY_ID, type StackOptions } from '../../support/stack.js';

const skip = simpleSamlPhpAvailable() ?? chromiumAvailable();
t.setTimeout(300_000);

/** The IdP's login names differ from the Crowd usernames: only the email links them. */
const IDP_USERS = [
  { username: 'aadams', password: 'aadams-pw', attributes: { email: 'Alice@Example.com', givenName: 'Alice', sn: 'Adams' } },
  { username: 'ewhite', password: 'ewhite-pw', attributes: { email: 'erin.white@example.com', givenName: 'Erin', sn: 'White' } },
];

const idpOptions = { sp: { entityId: SP_ENTITY_ID, nameIdFormat: NAMEID_EMAIL, nameIdAttribute: 'email' }, users: IDP_USERS };

/** The proxy's Crowd application may create users (Crowd's "Add User" directory permission). */
const crowdMayAddUsers: StackOptions['crowd'] = {
  applications: {
    [PROXY_APP.name]: { password: PROXY_APP.password, allowGenerateUserTokens: true, allowDirectoryWrites: true },
    jira: { password: 'jira-pw' },
    confluence: { password: 'confluence-pw' },
  },
  users: [{ name: 'alice', password: 'x', email: 'alice@example.com', firstName: 'Alice', lastName: 'Adams' }],
};

t.test('an email NameID from SimpleSAMLphp is looked up in Crowd by email: signed in as the Crowd user', { skip, timeout: 120_000 }, async (t) => {
  const { stack, chromium } = await startRealIdpStack(t, {
    idp: idpOptions,
    stack: {
      config: {
        saml: { nameIdFormat: NAMEID_EMAIL },
        identity: { username: [{ from: 'nameId', lookup: 'email' }] },
      },
    },
  });
  const { page } = await chromium.newPage();
  const target = `http://${HOSTS.jira}/browse/DEMO-1`;
  await page.goto(target);
  await loginAtIdp(page, 'aadams', 'aadams-pw');
  await page.waitForURL(target);
  t.equal(await page.textContent('#user'), 'Logged in as alice', 'the Crowd user whose email matches (ignoring case)');
  t.match(
    stack.logs.find((line) => line.event === 'login'),
    { outcome: 'success', user: 'alice', nameId: 'Alice@Example.com', userCreated: false },
    'the audit line shows the NameID SimpleSAMLphp sent and the user it was mapped to',
  );
  t.ok(stack.crowd.countCalls('GET', '/search?') >= 1, "found with Crowd's user search");
});

t.test('a person unknown to Crowd is created just in time from the IdP attributes and signed in', { skip, timeout: 120_000 }, async (t) => {
  const { stack, chromium } = await startRealIdpStack(t, {
    idp: idpOptions,
    stack: {
      crowd: crowdMayAddUsers,
      config: {
        saml: { nameIdFormat: NAMEID_EMAIL },
        identity: {
          username: [
            { from: 'nameId', lookup: 'email' },
            { from: 'nameId', transforms: ['strip-email-domain', 'lowercase'] },
          ],
          provisioning: { enabled: true, attributes: { email: 'email', firstName: 'givenName', lastName: 'sn' } },
        },
      },
    },
  });
  const crowd = createCrowdClient({ ...stack.config.crowd, applicationName: PROXY_APP.name, applicationPassword: PROXY_APP.password });
  t.teardown(() => crowd.close());
  t.equal(await crowd.getUser('erin.white'), null, 'Crowd does not know erin.white yet');

  const { page } = await chromium.newPage();
  const target = `http://${HOSTS.confluence}/display/DEMO/Welcome`;
  await page.goto(target);
  await loginAtIdp(page, 'ewhite', 'ewhite-pw');
  await page.waitForURL(target);
  t.equal(await page.textContent('#user'), 'Logged in as erin.white', "the Confluence-like app's own cookie validation lets the new user in on the first page");
  t.same(
    await crowd.getUser('erin.white'),
    { name: 'erin.white', active: true, email: 'erin.white@example.com', firstName: 'Erin', lastName: 'White', displayName: 'Erin White' },
    "created in Crowd with SimpleSAMLphp's attributes",
  );
  t.match(stack.logs.find((line) => line.event === 'login'), { outcome: 'success', user: 'erin.white', userCreated: true, nameId: 'erin.white@example.com' });

  // The next login of the same person finds the user by email instead of creating it again.
  const second = await chromium.newPage();
  await second.page.goto(`http://${HOSTS.jira}/browse/DEMO-3`);
  await loginAtIdp(second.page, 'ewhite', 'ewhite-pw');
  await second.page.waitForURL(`http://${HOSTS.jira}/browse/DEMO-3`);
  t.equal(await second.page.textContent('#user'), 'Logged in as erin.white');
  t.match(stack.logs.filter((line) => line.event === 'login')[1], { outcome: 'success', user: 'erin.white', userCreated: false }, 'found, not created again');
});
