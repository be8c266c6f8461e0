import t from 'tap';
import { findCookie, findCookieValues, removeCookie, rewriteCookieHeader } from '../../../src/proxy/cookie-header.js';

const NAME = 'crowd.token_key';

interface Case {
  readonly scenario: string;
  readonly header: string | undefined;
  /** What the apps read: the first non-empty value. */
  readonly first: string | undefined;
  readonly all: readonly string[];
  /** `removeCookie(header, NAME)` */
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
    scenario: 'names that merely contain the name',
    header: 'xcrowd.token_key=evil; crowd.token_keyx=evil2; my-crowd.token_key=evil3',
    first: undefined,
    all: [],
    rest: 'xcrowd.token_key=evil; crowd.token_keyx=evil2; my-crowd.token_key=evil3',
  },
  {
    scenario: 'the real one after look-alikes',
    header: 'xcrowd.token_key=evil; crowd.token_key=good',
    first: 'good',
    all: ['good'],
    rest: 'xcrowd.token_key=evil',
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
  { scenario: 'case matters in names', header: 'CROWD.TOKEN_KEY=upper', first: undefined, all: [], rest: 'CROWD.TOKEN_KEY=upper' },
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
