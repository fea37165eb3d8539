// The bounded buffer: pushing never blocks; when full, the OLDEST go, counted.
import t from 'tap'
import { BoundedQueue } from '../../src/decision-log/queue.js'

t.test('over the event bound the oldest are dropped and counted', async (t) => {
  const q = new BoundedQueue({ maxEvents: 3, maxBytes: 1e9 })
  for (let i = 1; i <= 10; i++) q.push(`e${i}`)
  t.equal(q.length, 3)
  t.equal(q.dropped, 7)
  t.same(q.take(), ['e8', 'e9', 'e10'], 'the newest are kept, in order')
  t.equal(q.length, 0)
  t.equal(q.bytes, 0)
})

t.test('over the byte bound the oldest are dropped', async (t) => {
  const q = new BoundedQueue({ maxEvents: 100, maxBytes: 10 })
  q.push('aaaa')
  q.push('bbbb')
  q.push('cccc')
  t.equal(q.dropped, 1)
  t.equal(q.bytes, 8)
  t.same(q.take(), ['bbbb', 'cccc'])
  q.push('x'.repeat(20))
  t.equal(q.length, 0, 'an event larger than the whole buffer cannot be kept')
  t.equal(q.dropped, 2)
})

t.test('take honours event and byte limits, and always takes at least one', async (t) => {
  const q = new BoundedQueue({ maxEvents: 100, maxBytes: 1e9 })
  for (const s of ['aaa', 'bbb', 'ccc', 'ddd', 'e'.repeat(50)]) q.push(s)
  t.same(q.take(2), ['aaa', 'bbb'])
  t.same(q.take(10, 5), ['ccc'], 'ccc+ddd would exceed 5 bytes')
  t.same(q.take(10, 5), ['ddd'])
  t.same(q.take(10, 5), ['e'.repeat(50)], 'one oversized event still goes alone')
  t.same(q.take(), [])
})

t.test('long queues compact as they are consumed', async (t) => {
  const q = new BoundedQueue({ maxEvents: 5000, maxBytes: 1e9 })
  for (let i = 0; i < 4000; i++) q.push(String(i))
  for (let i = 0; i < 3000; i++) q.take(1)
  t.equal(q.length, 1000)
  t.same(q.take(1), ['3000'])
  for (let i = 0; i < 6000; i++) q.push(`n${i}`)
  t.equal(q.length, 5000)
  t.same(q.take(1), ['n1000'])
})
