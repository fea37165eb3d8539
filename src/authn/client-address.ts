// The address of the client a credential came from, for the Basic throttle.
// X-Forwarded-For is believed only as far as it was written by configured
// trusted proxies: starting from the connection's peer, each trusted hop's
// entry names the one before it; the first untrusted address is the client.
// Anything a client writes into the header itself lies to the LEFT of what the
// trusted proxies appended, so it is never reached. With no trusted proxies
// (the default) the header is ignored and the peer is the client.
import { BlockList, isIP } from 'node:net'

const MAX_HOPS = 32

/** Parses `trustedProxies` entries (addresses or CIDR ranges); returns the problems. */
export function trustedProxyProblems (entries: string[]): string[] {
  const problems: string[] = []
  for (const entry of entries) {
    try {
      toBlockList([entry])
    } catch {
      problems.push(`trustedProxies: "${entry}" is not an IP address or CIDR range`)
    }
  }
  return problems
}

export function toBlockList (entries: string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || extra !== undefined) throw new Error('not an address')
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) {
      list.addAddress(address, type)
    } else {
      const bits = Number(prefix)
      if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) throw new Error('not a prefix')
      list.addSubnet(address, bits, type)
    }
  }
  return list
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function normalize (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped !== null ? mapped[1] as string : address
}

function isTrusted (list: BlockList, address: string): boolean {
  const family = isIP(address)
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

export function clientAddress (peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  let client = normalize(peer ?? '')
  if (forwardedFor === undefined || !isTrusted(trusted, client)) return client
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => normalize(h.trim()))
  for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_HOPS && isTrusted(trusted, client); i--, seen++) {
    const hop = hops[i] as string
    // A trusted proxy that wrote something that is not an address: keep the
    // proxy as the client (its bucket is shared, which is the safe side).
    if (isIP(hop) === 0) break
    client = hop
  }
  return client
}
