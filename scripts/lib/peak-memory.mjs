// Preloaded into the action's process (`NODE_OPTIONS=--import <this file>`) by tests that bound its
// memory: at exit, writes the process's peak resident set size and its heap statistics, as JSON,
// to the file named by PEAK_MEMORY_FILE. The peak comes from getrusage (ru_maxrss), so a burst that
// was freed before exit still counts. Nothing happens when PEAK_MEMORY_FILE is unset.
import { writeFileSync } from 'node:fs'

const file = process.env.PEAK_MEMORY_FILE
if (file) {
  process.on('exit', () => {
    const { heapUsed, external, arrayBuffers } = process.memoryUsage()
    const peak = {
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      heapUsed,
      external,
      arrayBuffers,
    }
    writeFileSync(file, JSON.stringify(peak))
  })
}
