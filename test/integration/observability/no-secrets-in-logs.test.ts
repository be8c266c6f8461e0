/**
 * No secret ever reaches a log line, at the most verbose level: a full login through the IdP, forwarded requests
 * with credentials, a replayed and a forged SAML response; then every line is searched for every secret.
 */
import t from 'tap';
import { post, response, startLogin } from '../../support/saml-login.js';
import { waitForLogLine } from '../../support/log-lines.js';
import { HOSTS, PROXY_APP, STATE_SECRET, startStack } from '../../support/stack.js';

function hiddenField(html: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  if (value === undefined) throw new Error(`no ${name} field`);
  return value.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

t.test('tokens, cookies, Authorization, SAMLResponse, RelayState and passwords never reach a log line', async (t) => {
  const stack = await startStack(t, { config: { logLevel: 'trace' } });
  const browser = stack.browser();

  const loginForm = await browser.navigate(`http://${HOSTS.echo}/browse/DEMO-1`);
  const autoPost = await browser.submitForm(loginForm, { username: 'alice', password: 'alice-pw' });
  const samlResponse = hiddenField(autoPost.body, 'SAMLResponse');
  const relayState = hiddenField(autoPost.body, 'RelayState');
  const binding = browser.cookies.find((cookie) => cookie.name.startsWith('crowd_sso_proxy_login_'));
  if (binding === undefined) throw new Error('the login start set no login-binding cookie');
  const landed = await browser.submitForm(autoPost);
  t.equal(landed.status, 200, 'signed in and forwarded');
  const token = browser.cookies.find((cookie) => cookie.name === 'crowd.token_key')?.value as string;
  t.ok(token, 'holds a Crowd token');

  const authorization = 'Basic YWxpY2U6cy3jcmV0LWJhc2ljLXBhc3N3b3Jk';
  const withCredentials = await browser.request(`http://${HOSTS.echo}/rest/api/2/myself?os_authType=basic&token=query-token-value`, {
    headers: { accept: 'application/json', authorization, cookie: `JSESSIONID=session-cookie-value; crowd.token_key=${token}` },
  });
  t.equal(withCredentials.status, 200);

  // Replayed by someone who also holds the login-binding cookie: the replay cache refuses it.
  const replayer = stack.browser();
  replayer.setCookie(HOSTS.echo, binding.name, binding.value);
  const replayed = await post(replayer, stack.acsUrl(HOSTS.echo), { SAMLResponse: samlResponse, RelayState: relayState });
  t.equal(replayed.status, 403, 'the replayed response is refused');
  const forger = stack.browser();
  const started = await startLogin(forger, `http://${HOSTS.jira}/`);
  const forged = response(stack, started, { sign: 'none', nameId: 'forged-admin' });
  t.equal((await post(forger, started.acsUrl, { SAMLResponse: forged, RelayState: started.relayState })).status, 403, 'the unsigned response is refused');
  await waitForLogLine(stack.logs, (line) => line.reason === 'saml_signature' && line.msg !== 'request completed', 'the refusal');
  await waitForLogLine(stack.logs, (line) => line.msg === 'request completed' && line.status === 403 && line.app === 'jira', 'its access line');

  t.ok(stack.logs.length > 10, `${stack.logs.length} lines written`);
  t.equal(stack.config.logLevel, 'trace', 'at the most verbose level');
  const secrets: Record<string, string> = {
    'the Crowd token': token,
    'the Crowd application password': PROXY_APP.password,
    'the state secret': STATE_SECRET,
    "the user's IdP password": 'alice-pw',
    'the SAMLResponse': samlResponse,
    'a piece of the SAMLResponse': samlResponse.slice(200, 240),
    'the forged SAMLResponse': forged.slice(100, 140),
    'the RelayState': relayState,
    "the login-binding cookie's nonce": binding.value,
    'the Authorization header': authorization.slice(6),
    'another cookie': 'session-cookie-value',
    'a query string': 'query-token-value',
  };
  for (const [index, line] of stack.logs.entries()) {
    const text = JSON.stringify(line);
    for (const [name, secret] of Object.entries(secrets)) {
      if (text.includes(secret)) t.fail(`line ${index} ("${String(line.msg)}") contains ${name}`);
    }
  }
  t.pass('every line searched for every secret');
});
