// What each method and path becomes, and which are refused as not-an-API-request.
import t from 'tap'
import { actionOf, endpointOf } from '../../src/engine/input.js'

t.test('methods map to CMiC actions', async (t) => {
  const table: Array<[string, string]> = [
    ['POST', 'create'], ['GET', 'retrieve'], ['HEAD', 'retrieve'],
    ['PUT', 'update'], ['PATCH', 'update'], ['DELETE', 'delete']
  ]
  for (const [method, action] of table) t.equal(actionOf(method), action, method)
  for (const bad of ['OPTIONS', 'TRACE', 'get', 'CONNECT', '', 'constructor', '__proto__']) {
    t.throws(() => actionOf(bad), { code: 'METHOD_UNKNOWN', statusCode: 400 }, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('API paths parse into endpoints', async (t) => {
  const table: Array<[string, object]> = [
    ['/cmictest/jc-rest-api/rest/1/jcjob', { env: 'cmictest', module: 'jc', version: '1', resource: 'jcjob' }],
    ['/cmicprod/pm-rest-api/rest/1/scmast/00123', { env: 'cmicprod', module: 'pm', version: '1', resource: 'scmast', id: '00123' }],
    ['/cmictest/hcm-rest-api/rest/1/pyemployee/A%20B', { env: 'cmictest', module: 'hcm', resource: 'pyemployee', id: 'A B' }],
    ['/cmictest/sys-rest-api/rest/latest/jcjobsecgrpuser', { module: 'sys', version: 'latest', resource: 'jcjobsecgrpuser' }]
  ]
  for (const [path, expected] of table) t.match(endpointOf(path), expected, path)
})

t.test('paths outside the API are refused', async (t) => {
  const bad = [
    '/', 'jcjob', '/cmictest/jc-rest-api/rest/1', '/cmictest/jc-rest-api/rest/1/',
    '/cmictest/jc-api/rest/1/jcjob', '/cmictest/jc-rest-api/1/jcjob',
    '/cmictest/jc-rest-api/rest/1/jcjob?limit=10', '/cmictest/jc-rest-api/rest/1/jcjob#x',
    '/cmictest/jc-rest-api/rest/1/../sys-rest-api/jcjobsecgrpuser',
    '/cmictest/jc-rest-api/rest/../1/jcjob', '/cmictest/jc-rest-api/rest/./jcjob',
    '/cmictest/jc-rest-api/rest/1/jcjob/a/b', '/cmictest/jc-rest-api/rest/1/jcjob/%2F', '/cmictest/jc-rest-api/rest/1/jcjob/%2e%2e',
    '/cmictest/jc-rest-api/rest/1/jcjob/%E0%A4%A', '/cmictest/jc-rest-api/rest/1/jcjob/%00',
    '/cmictest/JC-rest-api/rest/1/jcjob', '//jc-rest-api/rest/1/jcjob', 'https://evil/cmictest/jc-rest-api/rest/1/jcjob',
    '/cmictest/jc-rest-api/rest/1/jc%6aob'
  ]
  for (const path of bad) t.throws(() => endpointOf(path), { code: 'PATH_NOT_API', statusCode: 400 }, path)
})
