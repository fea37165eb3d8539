// Generated enterprise-size policy data for the data-scale benchmark: the example
// policies (policies/verdict, policies/erp/api and objects) with security and
// accounts data of a given size, written as YAML — the form security teams keep.
//
//   jobs      job codes in company 01, in groups of GROUP_SIZE (50)
//   accounts  ERP accounts with the PROJECT_VIEWER role, each in `groupsPerAccount`
//             groups of company 01 (spread evenly), basic and local callers
//   wide      one more account, ACME||WIDE, in the first `wideGroups` groups
//             (an account whose groups hold many jobs)
//   wideJobs  more such accounts, one per entry, ACME||WIDE_<n> in the first
//             n / GROUP_SIZE groups (left out when there are not that many jobs)
import { cp, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'

export const GROUP_SIZE = 50

export const jobCode = (i) => `J${String(i).padStart(6, '0')}`
export const groupCode = (g) => `G${String(g).padStart(5, '0')}`
export const accountName = (a) => `ACME||U${String(a).padStart(6, '0')}`
export const WIDE_ACCOUNT = 'ACME||WIDE'
export const wideAccountName = (jobs) => `ACME||WIDE_${jobs}`

/** Writes a policy directory with generated data into `dir`; returns what it holds. */
export async function writeScaleData (root, dir, { jobs, accounts, groupsPerAccount = 3, wideGroups = 10, wideJobs = [] }) {
  await cp(join(root, 'policies/verdict'), join(dir, 'verdict'), { recursive: true, filter: (src) => !src.endsWith('_test.rego') })
  for (const part of ['api', 'objects']) {
    await mkdir(join(dir, 'erp', part), { recursive: true })
    await cp(join(root, 'policies/erp', part, 'data.yaml'), join(dir, 'erp', part, 'data.yaml'))
  }
  const groupCount = Math.max(1, Math.ceil(jobs / GROUP_SIZE))
  const jobTable = {}
  for (let i = 0; i < jobs; i++) jobTable[jobCode(i)] = { name: `Job ${i}`, status: 'active' }
  const groups = { MASTER: { description: 'All jobs', all_jobs: true } }
  for (let g = 0; g < groupCount; g++) {
    const list = []
    for (let i = g * GROUP_SIZE; i < Math.min(jobs, (g + 1) * GROUP_SIZE); i++) list.push(jobCode(i))
    groups[groupCode(g)] = { description: `Group ${g}`, jobs: list }
  }
  const users = {}
  const access = {}
  const assignments = {}
  const wide = new Map([[WIDE_ACCOUNT, Math.min(wideGroups, groupCount)]])
  for (const n of wideJobs) {
    if (n <= jobs) wide.set(wideAccountName(n), Math.ceil(n / GROUP_SIZE))
  }
  const names = [...Array.from({ length: accounts }, (_, a) => accountName(a)), ...wide.keys()]
  names.forEach((name, a) => {
    users[name] = { kind: 'user', idps: ['basic', 'local'], name: `User ${a}`, description: 'Generated account', owner: 'bench@acme.example' }
    assignments[name] = ['PROJECT_VIEWER']
    const held = wide.has(name)
      ? Array.from({ length: wide.get(name) }, (_, g) => groupCode(g))
      : Array.from({ length: groupsPerAccount }, (_, k) => groupCode((a * groupsPerAccount + k) % groupCount))
    access[name] = { '01': { groups: [...new Set(held)] } }
  })
  const security = {
    companies: { '01': { name: 'Acme Construction' } },
    jobs: { '01': jobTable },
    groups: { '01': groups },
    access
  }
  await mkdir(join(dir, 'erp/security'), { recursive: true })
  await mkdir(join(dir, 'erp/accounts'), { recursive: true })
  await writeFile(join(dir, 'erp/security/data.yaml'), stringify(security, { lineWidth: 0 }))
  await writeFile(join(dir, 'erp/accounts/data.yaml'), stringify({ users, clients: {} }, { lineWidth: 0 }))
  // The API roles file names the example accounts; the generated ones get PROJECT_VIEWER.
  const { readFile } = await import('node:fs/promises')
  const { parse } = await import('yaml')
  const api = parse(await readFile(join(root, 'policies/erp/api/data.yaml'), 'utf8'))
  api.assignments = assignments
  await writeFile(join(dir, 'erp/api/data.yaml'), stringify(api, { lineWidth: 0 }))
  return {
    jobs,
    accounts,
    groups: groupCount,
    memberships: accounts * Math.min(groupsPerAccount, groupCount),
    wideJobs: Math.min(wideGroups, groupCount) * GROUP_SIZE,
    wide: [...wide].filter(([name]) => name !== WIDE_ACCOUNT).map(([name, groups]) => ({ name, jobs: Math.min(jobs, groups * GROUP_SIZE) }))
  }
}
