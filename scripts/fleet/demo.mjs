// The fleet scenario of test/fleet/replicas.test.ts, run once with its figures
// printed: three replicas behind nginx, a signed bundle rollout under load, a
// replica killed with SIGKILL. Started by scripts/fleet-demo.sh.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { judge, POLL, runScenario, startFleet } from '../../test/fleet/fleet.ts'

const clients = Number(process.env.FLEET_CLIENTS ?? 4)
const dir = await mkdtemp(join(tmpdir(), 'verdict-fleet-demo-'))
const log = (line) => console.log(`fleet: ${line}`)
let fleet
try {
  fleet = await startFleet(dir, log)
  log(`balancer http://127.0.0.1:${fleet.balancer}, bundle ${fleet.bundleUrl}, polling ${POLL.min}-${POLL.max} s, ${clients} clients`)
  const r = await runScenario(fleet, clients, log)
  const rollout = judge(r.rollout.decisions, r.expected)
  const kill = judge(r.kill.decisions, r.expected)
  const older = r.rollout.decisions.filter((d) => d.revision !== 'r1' && d.revision !== 'r2').length
  console.log('')
  console.log(`rollout time across replicas (publication → every /health on r2): ${r.rollout.ms ?? 'not reached'} ms (per replica ${r.rollout.perReplica.join(', ')} ms)`)
  console.log(`first r2 decision through the balancer, per replica: ${Object.entries(r.rollout.firstNewDecisionMs).map(([a, ms]) => `${a} ${ms} ms`).join(', ')}`)
  console.log(`last r1 decision after publication: ${r.rollout.lastOldDecisionMs ?? 'none'} ms`)
  console.log(`rollout: ${r.rollout.decisions.length} decisions, ${rollout.failed.length} failed, ${rollout.wrong.length} wrong, ${older} from a revision older than r1`)
  console.log(`kill (SIGKILL of 127.0.0.1:${r.kill.killedPort}): ${r.kill.decisions.length} decisions, ${kill.failed.length} failed, ${kill.wrong.length} wrong`)
  for (const d of [...rollout.failed, ...kill.failed].slice(0, 5)) console.log(`  failed: ${JSON.stringify(d)}`)
  process.exitCode = rollout.failed.length + rollout.wrong.length + kill.failed.length + kill.wrong.length + older === 0 && r.rollout.ms !== undefined ? 0 : 1
} finally {
  await fleet?.close()
  await rm(dir, { recursive: true, force: true })
}
