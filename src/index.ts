import { run } from './main.js'

// Exit once the outputs and summary are written: a socket left behind by a peer that never
// answered must not keep the step running.
run().finally(() => process.exit())
