import { runBench } from './run-bench.js';
const t0 = Date.now();
await runBench({ durationSeconds: 0.3, warmupSeconds: 0, signedInUsers: 50, rows: ['small/http-proxy', 'small/nginx', 'small/sso-hit', 'small/sso-miss', 'websocket/sso-hit'], memoryTokens: 3000, logins: 3, crowdLatencyMs: 1, progress: (l) => console.log(((Date.now()-t0)/1000).toFixed(1), l) });
console.log('total', (Date.now()-t0)/1000);
