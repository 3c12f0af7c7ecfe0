/**
 * The start-up floor of `npm run bench`: a bundle built as dist/index.js is (scripts/build.mjs: ncc,
 * CommonJS, no source map) that only loads the action's two runtime libraries and ends, as the
 * action does on an input error, with setFailed. @actions/http-client (which @actions/core imports
 * too) pulls in undici, which is most of what this floor costs. The bench builds it into a temporary directory at
 * run time: nothing generated from it is committed.
 */
import * as core from '@actions/core'
import { HttpClient } from '@actions/http-client'

// Touch both libraries so that neither is tree-shaken away.
const client = new HttpClient('registry-auth-preflight-bench')
const timeout = core.getInput('timeout')
core.setFailed(`libraries-only floor: timeout '${timeout}' (${typeof client.request})`)
client.dispose()
