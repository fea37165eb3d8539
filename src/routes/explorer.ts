// GET /explorer — the policy explorer page for security teams (docs/AUDIT.md):
// the active policy's roles, accounts, groups and jobs, and a form that asks
// POST /v1/explain. The page shows who holds what, so it has explain's access
// rule: registered only when `explain.enabled`, answered only to callers whose
// token holds one of `explain.adminRoles` (behind a gateway that authenticates
// the security team's browser, or with the header set by the client).
import type { FastifyPluginAsync } from 'fastify'
import { ExplainForbiddenError, ExplainUnauthenticatedError, PolicyNotLoadedError } from '../errors.js'
import { EXPLORER_CSP, explorerView, renderExplorer } from '../review/explorer-page.js'
import type { ExplainConfig } from './explain-config.js'

export interface ExplorerRouteOptions { config: ExplainConfig }

const explorerRoute: FastifyPluginAsync<ExplorerRouteOptions> = async (fastify, opts) => {
  const admin = new Set(opts.config.adminRoles)
  // One page per served policy: rendering reads the whole data document.
  let cached: { digest: string, html: string } | undefined

  fastify.get('/explorer', {
    schema: {
      summary: 'The policy explorer page (admin roles only; off unless explain is enabled)',
      description: 'One self-contained HTML page: the active policy\'s API roles × endpoints × actions, accounts with their roles, identity providers, OAuth clients and job security groups, groups with their jobs per company, and a form that asks POST /v1/explain. Same access rule as POST /v1/explain.',
      tags: ['other'],
      response: { 200: { description: 'text/html; charset=utf-8' } }
    }
  }, async (request, reply) => {
    const authn = await fastify.authenticate(request)
    if (!authn.ok) throw new ExplainUnauthenticatedError(`${authn.code}: ${authn.message}`)
    if (!authn.principal.roles.some((role) => admin.has(role))) {
      throw new ExplainForbiddenError('the caller holds none of the roles that may open GET /explorer (explain.adminRoles)')
    }
    const served = fastify.policy.current()
    if (!served) throw new PolicyNotLoadedError()
    if (cached?.digest !== served.digest) {
      // Parsed once already when the policy was loaded (an invalid data.json is never served).
      const data: unknown = JSON.parse(served.dataJson.toString('utf8'))
      cached = { digest: served.digest, html: renderExplorer(explorerView(data, { revision: served.revision, digest: served.digest })) }
    }
    return await reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', EXPLORER_CSP)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(cached.html)
  })
}

export default explorerRoute
