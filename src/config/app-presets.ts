/**
 * What the proxy knows about each Atlassian application's own paths: its login page and login form
 * targets, its logout URLs, and the paths that must not get a SAML redirect (crowd.md §5.3 and §5.5).
 *
 * Evidence, per entry: [V] verified in Atlassian's documentation or in Atlassian's own test harness
 * (dc-app-performance-toolkit, which drives each product's login and logout), [I] inferred from verified
 * facts, [U] unverified (plausible, kept because the cost of being wrong is small; override it per app).
 * Every preset value can be overridden per app: `loginPaths`, `logoutPaths`, and `rules` (an app's own
 * rules are matched before the preset's).
 */
import type { PathAction, AppPresetName } from './runtime-config.js';

export interface PresetRule {
  /** Path prefix, on segment boundaries (`/rest/` matches /rest/…; `/status` matches /status and /status/…). */
  readonly path?: string;
  /** Regular expression tested against the raw path (without query); for rules a prefix would make too wide. */
  readonly pattern?: string;
  readonly action: PathAction;
}

export interface AppPreset {
  /** The app's own login page(s): a browser sent there without a session is sent to the IdP instead. */
  readonly loginPaths: readonly string[];
  /** Where the app's own login forms post; used only by emergency access (`apps[].emergencyAccess`). */
  readonly loginFormPaths: readonly string[];
  /** The app's logout URL(s): forwarded to the app, then the proxy ends the SSO session (and the IdP's, with SLO). */
  readonly logoutPaths: readonly string[];
  /** Query parameters on the login page naming where the app wants to go after login. */
  readonly returnParameters: readonly string[];
  /** Matched after the app's own `rules`, before the default (`required`). */
  readonly rules: readonly PresetRule[];
  /** The realm of the app's own Basic challenge: the proxy's 401 to a non-browser client carries the same, so git and credential helpers send credentials. */
  readonly basicRealm: string;
}

/** The new (2SV-capable) login form of every product posts here as JSON [V toolkit: jira, confluence, bitbucket, bamboo, jsm]. */
const TWO_STEP_LOGIN = '/rest/tsv/1.0/authenticate';

/** Application links between Atlassian apps (OAuth 1.0a / OAuth 2): carry their own `Authorization` [V oauth servlet; rest U]. */
const APPLICATION_LINK_RULES: readonly PresetRule[] = [
  // The peer app reads the manifest anonymously when a link is created [I]. Exactly that resource: a prefix would also
  // open /rest/applinks/1.0/manifest/… to anonymous requests.
  { pattern: '^/rest/applinks/1\\.0/manifest$', action: 'public' },
  { path: '/plugins/servlet/oauth/', action: 'credentials' },
  { path: '/rest/oauth/', action: 'credentials' },
  { path: '/rest/oauth2/', action: 'credentials' },
  { path: '/plugins/servlet/applinks/', action: 'credentials' },
  { path: '/rest/applinks/', action: 'credentials' },
];

/** Scripts, CI and personal access tokens (`Authorization: Basic|Bearer`) [V PAT doc: Jira 8.14+, Confluence 7.9+]. */
const REST_WITH_CREDENTIALS: PresetRule = { path: '/rest/', action: 'credentials' };
/**
 * Cached static web resources (CSS/JS/images, needed by pages anonymous users see: the app's own login page under
 * emergency access, the JSM portal). Atlassian apps rewrite `/s/<anything>/_/<path>` to `/<path>` inside the app
 * (Tuckey UrlRewriteFilter, `^/s/(.*)/_/(.*)` → `/$2`: the greedy first group splits at the LAST `/_/`), so a `/s/`
 * prefix would open every page of the app (`/s/x/_/secure/admin/…`, CVE-2019-8442). Public is only what the rewrite
 * turns into the web-resource download servlet (`/download/batch|resources|contextbatch|superbatch/…`) or the
 * static `/images/…` folder: after that part no segment may be `_` (nor `%5F`, which the rewrite may decode), so no
 * later `/_/` can re-route the request. Dot segments, `;` parameters, `//` and encoded separators never reach this
 * rule (ambiguous paths are `required`). Every other `/s/…` path is `required`.
 */
const STATIC_RESOURCES: PresetRule = {
  pattern: '^/s/[^/]+(?:/[^/]+)*/_/(?:download/(?:batch|resources|contextbatch|superbatch)|images)(?:/(?!(?:_|%5[fF])(?:/|$))[^/]+)+$',
  action: 'public',
};
/** Load-balancer health check [V Jira, Confluence, Bitbucket]: the one resource, not what lies below it. */
const STATUS: PresetRule = { pattern: '^/status$', action: 'public' };

const JIRA: AppPreset = {
  // [V toolkit: GET and POST /login.jsp]
  loginPaths: ['/login.jsp'],
  loginFormPaths: ['/login.jsp', TWO_STEP_LOGIN],
  // Logout!default.jspa [V crowd.md §5.3]; logoutconfirm.jsp is the confirmation page the toolkit opens [V], whose
  // form posts to Logout.jspa [U]; /logout [U].
  logoutPaths: ['/secure/Logout!default.jspa', '/secure/Logout.jspa', '/logout'],
  returnParameters: ['os_destination'],
  rules: [STATUS, STATIC_RESOURCES, ...APPLICATION_LINK_RULES, REST_WITH_CREDENTIALS],
  basicRealm: 'Jira', // [U]
};

const JSM: AppPreset = {
  ...JIRA,
  // Portal logout [U]. It acts only when the request carries a Crowd cookie; a portal-only customer's logout
  // reaches Jira untouched.
  logoutPaths: [...JIRA.logoutPaths, '/servicedesk/customer/user/logout'],
  rules: [
    // The portal, its own login page and form (/servicedesk/customer/user/login), and the REST calls its pages make
    // answer anonymous and portal-only customers (often not Crowd users) themselves [V toolkit:
    // /servicedesk/customer/portals, /rest/servicedesk/1/customer/models]; /rest/servicedeskapi/ [U].
    { path: '/servicedesk/customer/', action: 'optional' },
    { path: '/rest/servicedesk/', action: 'optional' },
    { path: '/rest/servicedeskapi/', action: 'optional' },
    ...JIRA.rules,
  ],
};

const CONFLUENCE: AppPreset = {
  // [V toolkit: GET /login.action, POST /dologin.action, /logout.action]
  loginPaths: ['/login.action'],
  loginFormPaths: ['/dologin.action', TWO_STEP_LOGIN],
  logoutPaths: ['/logout.action'],
  returnParameters: ['os_destination'],
  rules: [STATUS, STATIC_RESOURCES, ...APPLICATION_LINK_RULES, REST_WITH_CREDENTIALS],
  basicRealm: 'Confluence', // [U]
};

const BITBUCKET: AppPreset = {
  // [V toolkit: GET and POST /login, /j_atl_security_logout, `next` parameter]
  loginPaths: ['/login'],
  loginFormPaths: ['/login', '/j_atl_security_check', TWO_STEP_LOGIN],
  logoutPaths: ['/j_atl_security_logout'],
  returnParameters: ['next'],
  rules: [
    STATUS,
    STATIC_RESOURCES,
    // Git over HTTP(S) with Basic or a personal access token [V crowd.md §5.5].
    { path: '/scm/', action: 'credentials' },
    ...APPLICATION_LINK_RULES,
    REST_WITH_CREDENTIALS,
  ],
  // What Bitbucket's /scm/ answers git without credentials [V git clone against Bitbucket Data Center].
  basicRealm: 'Atlassian Bitbucket',
};

const BAMBOO: AppPreset = {
  // [V toolkit: GET and POST /userlogin.action, /userLogout.action]
  loginPaths: ['/userlogin.action'],
  loginFormPaths: ['/userlogin.action', TWO_STEP_LOGIN],
  logoutPaths: ['/userLogout.action'],
  returnParameters: ['os_destination'],
  rules: [
    { pattern: '^/rest/api/latest/status$', action: 'public' },
    STATIC_RESOURCES,
    // Remote agents register and fetch artifacts over HTTP here; they authenticate themselves [V Bamboo KB].
    { path: '/agentServer/', action: 'public' },
    ...APPLICATION_LINK_RULES,
    REST_WITH_CREDENTIALS,
  ],
  basicRealm: 'Bamboo', // [U]
};

const FISHEYE: AppPreset = {
  // Login /login [V crowd.md §5.3]; logout /logout [U].
  loginPaths: ['/login'],
  loginFormPaths: ['/login'],
  logoutPaths: ['/logout'],
  returnParameters: ['origUrl'],
  rules: [
    // REST API base /rest-service/ [V Crucible REST docs]; -fe and -fecru variants [U].
    { path: '/rest-service/', action: 'credentials' },
    { path: '/rest-service-fe/', action: 'credentials' },
    { path: '/rest-service-fecru/', action: 'credentials' },
    ...APPLICATION_LINK_RULES,
    REST_WITH_CREDENTIALS,
  ],
  basicRealm: 'FishEye', // [U]
};

export const APP_PRESETS: Readonly<Record<AppPresetName, AppPreset>> = Object.freeze({
  jira: JIRA,
  jsm: JSM,
  confluence: CONFLUENCE,
  bitbucket: BITBUCKET,
  bamboo: BAMBOO,
  fisheye: FISHEYE,
});
