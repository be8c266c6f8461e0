import t from 'tap';
import { findCookie, findCookieValues, isOnlyCookie, mentionsCookie, removeCookie, rewriteCookieHeader } from '../../../src/policy/cookie-header.js';

const NAME = 'crowd.token_key';

interface Case {
  readonly scenario: string;
  readonly header: string | undefined;
  /** What the apps read: the first non-empty value. */
  readonly first: string | undefined;
  readonly all: readonly string[];
  /** `removeCookie(header, NAME)`: no pair that mentions the name in any case survives (a parser might read it). */
  readonly rest: string;
}

const CASES: readonly Case[] = [
  { scenario: 'no header', header: undefined, first: undefined, all: [], rest: '' },
  { scenario: 'empty header', header: '', first: undefined, all: [], rest: '' },
  { scenario: 'only the Crowd cookie', header: 'crowd.token_key=abc123', first: 'abc123', all: ['abc123'], rest: '' },
  {
    scenario: 'two Crowd cookies: a stale host-only one first, then the domain one',
    header: 'crowd.token_key=stale111; JSESSIONID=j1; crowd.token_key=fresh222',
    first: 'stale111',
    all: ['stale111', 'fresh222'],
    rest: 'JSESSIONID=j1',
  },
  {
    scenario: 'an empty Crowd cookie before a real one (logout left it behind)',
    header: 'crowd.token_key=; crowd.token_key=abc',
    first: 'abc',
    all: ['abc'],
    rest: '',
  },
  { scenario: 'only empty values', header: 'crowd.token_key=;crowd.token_key= ; crowd.token_key=""', first: undefined, all: [], rest: '' },
  {
    scenario: 'names that merely contain the name are dropped too',
    header: 'xcrowd.token_key=evil; crowd.token_keyx=evil2; my-crowd.token_key=evil3; a=1',
    first: undefined,
    all: [],
    rest: 'a=1',
  },
  {
    scenario: 'a comma-joined Crowd cookie (a legacy cookie parser reads it as a cookie of its own)',
    header: 'a=1, crowd.token_key=evil; b=2',
    first: undefined,
    all: [],
    rest: 'b=2',
  },
  {
    scenario: 'a Crowd cookie inside a quoted value of another',
    header: 'a="x crowd.token_key=evil"; b=2',
    first: undefined,
    all: [],
    rest: 'b=2',
  },
  {
    scenario: 'the real one after look-alikes',
    header: 'xcrowd.token_key=evil; crowd.token_key=good',
    first: 'good',
    all: ['good'],
    rest: '',
  },
  {
    scenario: 'odd spacing, tabs and empty pairs',
    header: ' ;;  a=1 ;\tcrowd.token_key =  spaced  ;b=2;  ',
    first: 'spaced',
    all: ['spaced'],
    rest: 'a=1; b=2',
  },
  { scenario: 'a quoted value loses its quotes', header: 'crowd.token_key="q123"; a=1', first: 'q123', all: ['q123'], rest: 'a=1' },
  {
    scenario: 'pairs without "=" (a bare name counts as that cookie with an empty value)',
    header: 'flag; crowd.token_key; theme=dark; crowd.token_key=t1',
    first: 't1',
    all: ['t1'],
    rest: 'flag; theme=dark',
  },
  {
    scenario: 'values holding "=" and other cookies kept byte for byte',
    header: 'atl.xsrf.token=B0B0|abc|lin; crowd.token_key=v==; seraph.rememberme.cookie=1%3A2',
    first: 'v==',
    all: ['v=='],
    rest: 'atl.xsrf.token=B0B0|abc|lin; seraph.rememberme.cookie=1%3A2',
  },
  { scenario: 'the apps compare names by case, but another case is dropped all the same', header: 'CROWD.TOKEN_KEY=upper; a=1', first: undefined, all: [], rest: 'a=1' },
];

for (const c of CASES) {
  t.test(c.scenario, async (t) => {
    t.equal(findCookie(c.header, NAME), c.first, 'findCookie: the first non-empty value');
    t.same(findCookieValues(c.header, NAME), c.all, 'findCookieValues: every non-empty value, in order');
    t.equal(removeCookie(c.header, NAME), c.rest, 'removeCookie: every Crowd cookie gone, the rest kept');
    const rewritten = rewriteCookieHeader(c.header, NAME, 'NEWTOKEN');
    t.equal(rewritten, c.rest === '' ? 'crowd.token_key=NEWTOKEN' : `crowd.token_key=NEWTOKEN; ${c.rest}`, 'rewriteCookieHeader: exactly one, first');
    t.same(findCookieValues(rewritten, NAME), ['NEWTOKEN'], 'after a rewrite the apps can only read the new token');
  });
}

t.test('findCookie works for any cookie name, not just the Crowd one', async (t) => {
  t.equal(findCookie('a=1; b=2', 'b'), '2');
  t.equal(findCookie('a=1; b=2', 'c'), undefined);
  t.equal(findCookie('a=1', ''), undefined, 'an empty name matches nothing');
});

t.test('rewriteCookieHeader refuses a name or value that would inject or break cookies', async (t) => {
  for (const value of ['a;b', 'a b', '"quoted"', 'a,b', 'a\\b', 'line\r\nX-Injected: 1', 'ünicode']) {
    t.throws(() => rewriteCookieHeader('a=1', NAME, value), TypeError, `value ${JSON.stringify(value)}`);
  }
  for (const name of ['', 'bad name', 'a=b', 'a;b']) {
    t.throws(() => rewriteCookieHeader('a=1', name, 'v'), TypeError, `name ${JSON.stringify(name)}`);
  }
  t.equal(rewriteCookieHeader(undefined, NAME, 'Ab0-._~!$&*+/:<>?@[]^`{|}'), 'crowd.token_key=Ab0-._~!$&*+/:<>?@[]^`{|}', 'every cookie-octet is accepted');
});

t.test('isOnlyCookie: the header may go upstream as it is only when it says exactly one valid Crowd cookie', async (t) => {
  const cases: [string | undefined, boolean, string][] = [
    ['crowd.token_key=good', true, 'only the valid one'],
    ['a=1; crowd.token_key=good; b=2', true, 'the valid one among others'],
    [' a=1 ;\tcrowd.token_key=good ', true, 'odd spacing around it'],
    [undefined, false, 'no header'],
    ['crowd.token_key=; crowd.token_key=good', false, 'an empty one first (the app would read that one)'],
    ['crowd.token_key=good; crowd.token_key=good', false, 'twice'],
    ['crowd.token_key="good"', false, 'quoted (a servlet container may keep the quotes)'],
    ['crowd.token_key =good', false, 'a space before "="'],
    ['CROWD.TOKEN_KEY=bad; crowd.token_key=good', false, 'another case beside it'],
    ['a=1, crowd.token_key=bad; crowd.token_key=good', false, 'a comma-joined one beside it'],
    ['crowd.token_key=goodx', false, 'another value'],
  ];
  for (const [header, expected, scenario] of cases) t.equal(isOnlyCookie(header, NAME, 'good'), expected, scenario);
});

t.test('mentionsCookie finds the name in any case, anywhere in the header', async (t) => {
  t.equal(mentionsCookie(undefined, NAME), false);
  t.equal(mentionsCookie('a=1; b=2', NAME), false);
  t.equal(mentionsCookie('a=1, Crowd.Token_Key=x', NAME), true);
  t.equal(mentionsCookie('crowdxtoken_key=1', NAME), false, 'the dot is a dot, not any character');
});
