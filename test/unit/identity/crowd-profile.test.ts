import t from 'tap';
import { newUserProfile, profileChanges, readIdpProfile } from '../../../src/identity/crowd-profile.js';

const attributes = { email: 'mail', firstName: 'givenName', lastName: 'sn', displayName: 'displayName' };

t.test('the profile comes from the mapped attributes (by name or friendly name), first value', async (t) => {
  const identity = { nameId: 'x', attributes: { mail: [' bob@example.com ', 'b@example.com'], givenName: ['Bob'], sn: ['Brown'] } };
  t.same(readIdpProfile(attributes, identity), { email: 'bob@example.com', firstName: 'Bob', lastName: 'Brown', displayName: undefined });
  t.same(readIdpProfile({ email: undefined, firstName: undefined, lastName: undefined, displayName: undefined }, identity), {
    email: undefined,
    firstName: undefined,
    lastName: undefined,
    displayName: undefined,
  });
});

t.test('a new user never has an empty name in Crowd', async (t) => {
  t.same(newUserProfile('bob', { email: 'b@x', firstName: 'Bob', lastName: 'Brown', displayName: undefined }), {
    email: 'b@x',
    firstName: 'Bob',
    lastName: 'Brown',
    displayName: 'Bob Brown',
  });
  t.same(newUserProfile('bob', { email: undefined, firstName: undefined, lastName: undefined, displayName: undefined }), {
    email: undefined,
    firstName: '',
    lastName: 'bob',
    displayName: 'bob',
  });
  t.same(newUserProfile('bob', { email: undefined, firstName: undefined, lastName: undefined, displayName: 'Bobby B' }).lastName, 'Bobby B');
});

t.test('profile changes: only fields the IdP states, email ignoring case', async (t) => {
  const current = { email: 'Bob@Example.com', firstName: 'Bob', lastName: 'Brown', displayName: 'Bob Brown' };
  t.equal(profileChanges(current, { email: 'bob@example.com', firstName: 'Bob', lastName: undefined, displayName: undefined }), undefined);
  t.same(profileChanges(current, { email: 'robert@example.com', firstName: 'Robert', lastName: undefined, displayName: 'Robert Brown' }), {
    email: 'robert@example.com',
    firstName: 'Robert',
    displayName: 'Robert Brown',
  });
});
