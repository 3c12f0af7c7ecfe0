/**
 * Stands in for `undici` in dist/index.js (tsconfig.json maps the name here; ncc follows that
 * mapping, jest does not). @actions/http-client imports undici for one method,
 * `HttpClient.getAgentDispatcher`, which hands a proxy dispatcher to `fetch`. The action never
 * calls it: every request goes through `HttpClient.request` on Node's own http and https. Loading
 * undici anyway cost about 60 % of the action's start-up and 80 % of the bundle, in every
 * pipeline that runs the step. `__tests__/supply-chain.test.ts` fails if http-client starts to use
 * undici anywhere else, or if the bundle carries it again.
 */
export class ProxyAgent {
  constructor() {
    throw new Error(
      'registry-auth-preflight: undici is left out of this bundle; HttpClient.getAgentDispatcher is not supported',
    )
  }
}
