import { readFileSync } from 'node:fs';
import t from 'tap';
import { createReturnUrlPolicy } from '../../../src/policy/return-url.js';

const policy = createReturnUrlPolicy({ publicScheme: 'https', hosts: ['jira.example.com', 'confluence.example.com:8443'] });

t.test('deep links on configured hosts are kept exactly', async (t) => {
  const cases: [string, string, string][] = [
    ['/browse/ABC-1?focusedCommentId=7#comment-7', 'jira.example.com', 'https://jira.example.com/browse/ABC-1?focusedCommentId=7#comment-7'],
    ['/secure/RapidBoard.jspa?rapidView=3&view=planning', 'jira.example.com', 'https://jira.example.com/secure/RapidBoard.jspa?rapidView=3&view=planning'],
    ['https://confluence.example.com:8443/display/SPACE/Page+Title', 'jira.example.com', 'https://confluence.example.com:8443/display/SPACE/Page+Title'],
    ['https://JIRA.example.com/browse/X-1', 'confluence.example.com:8443', 'https://jira.example.com/browse/X-1'],
    ['https://jira.example.com:443/', 'jira.example.com', 'https://jira.example.com/'],
    ['/pages/viewpage.action?pageId=123&x=%2F%2Fevil', 'confluence.example.com:8443', 'https://confluence.example.com:8443/pages/viewpage.action?pageId=123&x=%2F%2Fevil'],
  ];
  for (const [candidate, host, expected] of cases) t.equal(policy.resolve(candidate, host), expected, candidate);
});

t.test('the open-redirect corpus is refused', async (t) => {
  const lines = readFileSync(new URL('../../fixtures/open-redirects.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  t.ok(lines.length > 25);
  for (const candidate of lines) t.equal(policy.resolve(candidate, 'jira.example.com'), undefined, JSON.stringify(candidate));
});

t.test('oversized and empty candidates are refused', async (t) => {
  t.equal(policy.resolve('', 'jira.example.com'), undefined);
  t.equal(policy.resolve(`/${'a'.repeat(5000)}`, 'jira.example.com'), undefined);
});

t.test('absolute() builds URLs on the public scheme', async (t) => {
  t.equal(policy.absolute('jira.example.com', '/'), 'https://jira.example.com/');
});
