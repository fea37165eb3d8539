// HTTPS and mutual TLS over real sockets: Verdict's own server (createServer, as
// the process runs it) with a CA, server and client certificates made at test
// time. A verified client certificate's SPIFFE id is mapped to an ERP account by
// the accounts data like an OAuth client id; no certificate, one from another CA
// and an expired one are refused. A changed certificate file is picked up without
// dropping open connections.
import { readFile, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import verdictApp from '../../src/app.js'
import { createServer } from '../../src/server.js'
import { copyPolicies, tempDir, waitFor } from '../engine/helpers.js'
import { testConfig } from '../helpers/app.js'
import { createTestCa, writePem, type Issued } from '../helpers/test-ca.js'

const SPIFFE_PROCORE = 'spiffe://acme.example/ns/integrations/sa/procore-sync'
const JOB_READ = { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob/23-410' }, resource: { company: '01', job: '23-410' } }

interface Answer { status: number, body: Record<string, any>, serverSerial: string }

/** The example policies, with the procore account reachable through client certificates. */
async function policiesWithCertificateMapping (t: Test): Promise<string> {
  const dir = await copyPolicies(t)
  const file = join(dir, 'erp', 'accounts', 'data.yaml')
  const text = await readFile(file, 'utf8')
  const withIdp = text.replace('idps: [local]\n    name: Procore PM sync', 'idps: [local, mtls]\n    name: Procore PM sync')
  t.not(withIdp, text, 'the procore account now lists the mtls provider')
  await writeFile(file, `${withIdp}\n  mtls:\n    "${SPIFFE_PROCORE}": "ACME||SVC_PROCORE"\n`)
  return dir
}

async function startVerdict (t: Test, server: Record<string, unknown>, policyDir: string): Promise<{ app: FastifyInstance, port: number }> {
  const config = testConfig({
    server,
    policy: { dir: policyDir },
    authn: { clientCertificate: { idp: 'mtls', identity: 'uri-san', uriPrefix: 'spiffe://acme.example/' } }
  })
  const app = createServer(config)
  await app.register(verdictApp, { config })
  // server.ts starts the file watch in serve(); here the same function by hand.
  const { watchTlsFiles } = await import('../../src/tls/index.js')
  const stop = watchTlsFiles(app.server as any, config.server.tls!, { info: () => {}, error: () => {} })
  t.teardown(async () => { stop(); await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: (app.server.address() as AddressInfo).port }
}

function decide (port: number, opts: { ca: string, client?: Issued, agent?: Agent }, body: object = JOB_READ): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      method: 'POST',
      path: '/v1/decide',
      ca: opts.ca,
      ...(opts.client !== undefined ? { cert: opts.client.cert, key: opts.client.key } : {}),
      ...(opts.agent !== undefined ? { agent: opts.agent } : { agent: false }),
      headers: { 'content-type': 'application/json' }
    }, (res) => {
      // Read now: a keep-alive agent takes the socket back at the end.
      const serverSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()), serverSerial })
      })
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

t.test('mutual TLS: a verified client certificate is a credential, everything else is refused', async (t) => {
  const dir = await tempDir(t, 'verdict-tls-')
  const ca = await createTestCa('Verdict test CA')
  const otherCa = await createTestCa('Some other CA')
  const serverPem = await writePem(dir, 'server', await ca.issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' }))
  const caFile = join(dir, 'clients-ca.crt')
  await writeFile(caFile, ca.cert)
  const { port } = await startVerdict(t, { tls: { ...serverPem, clientCaFile: caFile } }, await policiesWithCertificateMapping(t))

  const valid = await ca.issue({ cn: 'procore-sync', uris: [SPIFFE_PROCORE], usage: 'client' })
  const foreign = await otherCa.issue({ cn: 'procore-sync', uris: [SPIFFE_PROCORE], usage: 'client' })
  const expired = await ca.issue({ cn: 'procore-sync', uris: [SPIFFE_PROCORE], usage: 'client', notBefore: -10 * 86400_000, notAfter: -86400_000 })
  const twoIds = await ca.issue({ cn: 'x', uris: [SPIFFE_PROCORE, 'spiffe://acme.example/ns/other'], usage: 'client' })
  const unmapped = await ca.issue({ cn: 'x', uris: ['spiffe://acme.example/ns/nobody'], usage: 'client' })

  const ok = await decide(port, { ca: ca.cert, client: valid })
  t.equal(ok.status, 200)
  t.match(ok.body, { allow: true, status: 200, principal: { id: 'ACME||SVC_PROCORE', kind: 'service_account', idp: 'mtls' } },
    'the SPIFFE id maps to the procore account through data.erp.accounts.clients.mtls')

  const denied = await decide(port, { ca: ca.cert, client: valid }, { request: { method: 'DELETE', path: '/cmictest/jc-rest-api/rest/1/jcjob/23-410' } })
  t.match(denied.body, { allow: false, status: 403 }, 'a certificate caller gets only what its account has')

  const none = await decide(port, { ca: ca.cert })
  t.match(none.body, { allow: false, status: 401, reasons: [{ code: 'credential_missing' }] }, 'no certificate and no header: 401')

  const other = await decide(port, { ca: ca.cert, client: foreign })
  t.match(other.body, { allow: false, status: 401, reasons: [{ code: 'client_certificate_invalid' }] }, 'a certificate from another CA: 401')

  const old = await decide(port, { ca: ca.cert, client: expired })
  t.match(old.body, { allow: false, status: 401, reasons: [{ code: 'client_certificate_invalid' }] }, 'an expired certificate: 401')

  const ambiguous = await decide(port, { ca: ca.cert, client: twoIds })
  t.match(ambiguous.body, { allow: false, status: 401, reasons: [{ code: 'client_certificate_identity' }] }, 'two identities in one certificate: 401')

  const unknown = await decide(port, { ca: ca.cert, client: unmapped })
  t.match(unknown.body, { allow: false, status: 403 }, 'a trusted certificate that maps to no account is denied')
  t.notOk(unknown.body.allow)
})

t.test('requireClientCertificate refuses the handshake without a valid certificate', async (t) => {
  const dir = await tempDir(t, 'verdict-tls-')
  const ca = await createTestCa('Verdict test CA')
  const otherCa = await createTestCa('Some other CA')
  const serverPem = await writePem(dir, 'server', await ca.issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' }))
  const caFile = join(dir, 'clients-ca.crt')
  await writeFile(caFile, ca.cert)
  const { port } = await startVerdict(t, { tls: { ...serverPem, clientCaFile: caFile, requireClientCertificate: true } }, await policiesWithCertificateMapping(t))

  const valid = await ca.issue({ cn: 'procore-sync', uris: [SPIFFE_PROCORE], usage: 'client' })
  t.match((await decide(port, { ca: ca.cert, client: valid })).body, { allow: true })
  await t.rejects(decide(port, { ca: ca.cert }), 'no certificate: no TLS session, no answer')
  await t.rejects(decide(port, { ca: ca.cert, client: await otherCa.issue({ cn: 'x', uris: [SPIFFE_PROCORE], usage: 'client' }) }), 'another CA: no TLS session')
})

t.test('a renewed server certificate is served without dropping open connections', async (t) => {
  const dir = await tempDir(t, 'verdict-tls-')
  const ca = await createTestCa('Verdict test CA')
  const first = await writePem(dir, 'server', await ca.issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' }))
  const caFile = join(dir, 'clients-ca.crt')
  await writeFile(caFile, ca.cert)
  const { port } = await startVerdict(t, { tls: { ...first, clientCaFile: caFile, reloadIntervalMs: 100 } }, await policiesWithCertificateMapping(t))
  const client = await ca.issue({ cn: 'procore-sync', uris: [SPIFFE_PROCORE], usage: 'client' })

  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => keepAlive.destroy())
  const before = await decide(port, { ca: ca.cert, client, agent: keepAlive })
  t.match(before.body, { allow: true })

  // A broken pair (key of another certificate) is refused: the old certificate stays.
  const renewed = await ca.issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' })
  const unrelated = await ca.issue({ cn: 'localhost', dns: ['localhost'], usage: 'server' })
  await writeFile(first.certFile, renewed.cert)
  await writeFile(first.keyFile, unrelated.key)
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal((await decide(port, { ca: ca.cert, client })).serverSerial, before.serverSerial, 'a mismatched key is not swapped in')

  await writeFile(first.keyFile, renewed.key)
  const after = await waitFor('the renewed certificate', async () => {
    const answer = await decide(port, { ca: ca.cert, client })
    return answer.serverSerial !== before.serverSerial ? answer : undefined
  }, 5000)
  t.match(after.body, { allow: true }, 'new connections get the renewed certificate')
  const sameConnection = await decide(port, { ca: ca.cert, client, agent: keepAlive })
  t.equal(sameConnection.serverSerial, before.serverSerial, 'the open keep-alive connection still answers, on its old session')
  t.match(sameConnection.body, { allow: true })
})

t.test('configuration: a required client certificate needs a CA; unreadable files stop the start', async (t) => {
  t.throws(() => testConfig({ server: { tls: { certFile: '/x', keyFile: '/y', requireClientCertificate: true } } }), /requireClientCertificate needs clientCaFile/)
  t.throws(() => createServer(testConfig({ server: { tls: { certFile: '/nonexistent.crt', keyFile: '/nonexistent.key' } } })), /server\.tls\.certFile \(\/nonexistent\.crt\): ENOENT/)
})
