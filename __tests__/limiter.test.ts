/** The one queue every request waits in: at most `size` at once, urgent tasks ahead of the rest. */
import { Limiter } from '../src/core/limiter.js'

/** A task that records when it starts and finishes when told. */
function gate(log: string[], name: string): { task: () => Promise<void>; open: () => void } {
  let open = (): void => {}
  const done = new Promise<void>((resolve) => (open = resolve))
  return {
    task: async () => {
      log.push(name)
      await done
    },
    open,
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('at most size tasks run; waiting tasks start in order, urgent ones first and among themselves in order', async () => {
  const limiter = new Limiter(2)
  const log: string[] = []
  const gates = ['a', 'b', 'c', 'd', 'u1', 'u2'].map((n) => gate(log, n))
  const [a, b, c, d, u1, u2] = gates
  const runs = [
    limiter.run(a.task),
    limiter.run(b.task),
    limiter.run(c.task),
    limiter.run(d.task),
    limiter.run(u1.task, true),
    limiter.run(u2.task, true),
  ]
  await tick()
  expect(log).toEqual(['a', 'b'])
  a.open()
  await tick()
  expect(log).toEqual(['a', 'b', 'u1'])
  b.open()
  await tick()
  expect(log).toEqual(['a', 'b', 'u1', 'u2'])
  u1.open()
  await tick()
  expect(log).toEqual(['a', 'b', 'u1', 'u2', 'c'])
  for (const g of gates) g.open()
  await Promise.all(runs)
  expect(log).toEqual(['a', 'b', 'u1', 'u2', 'c', 'd'])
})
