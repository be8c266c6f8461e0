import t from 'tap';
import { loginAs } from '../../support/saml-login.js';
import { HOSTS, startStack } from '../../support/stack.js';
t.test('x', async (t) => {
  const stack = await startStack(t);
  try { await loginAs(stack, stack.browser(), HOSTS.echo); } catch (e) { console.error(JSON.stringify(stack.logs.filter(l => (l.level as number) >= 40), null, 1).slice(0, 3000)); }
  t.pass();
});
