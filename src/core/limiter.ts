/**
 * Runs at most `size` tasks at once; the others wait for a place, first come, first served, except
 * that urgent tasks (the layer path's hops, which the end of a run waits for) go ahead of the rest.
 */
export class Limiter {
  private running = 0
  private readonly queue: (() => void)[] = []
  private readonly urgent: (() => void)[] = []

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>, urgent = false): Promise<T> {
    if (this.running < this.size) this.running++
    // The task that finishes hands its place straight to the first in the queue.
    else await new Promise<void>((resolve) => (urgent ? this.urgent : this.queue).push(resolve))
    try {
      return await task()
    } finally {
      const next = this.urgent.shift() ?? this.queue.shift()
      if (next) next()
      else this.running--
    }
  }
}
