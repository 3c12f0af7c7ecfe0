/** Runs at most `size` tasks at once; the others wait for a place, first come, first served. */
export class Limiter {
  private running = 0
  private readonly queue: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++
    // The task that finishes hands its place straight to the first in the queue.
    else await new Promise<void>((resolve) => this.queue.push(resolve))
    try {
      return await task()
    } finally {
      const next = this.queue.shift()
      if (next) next()
      else this.running--
    }
  }
}
