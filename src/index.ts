import { run } from './main.js'

// Exit once the outputs and summary are written: a socket left behind by a peer that never
// answered must not keep the step running. run() reports its own failures with setFailed; should
// that itself throw, the step must still fail, loudly.
run().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
