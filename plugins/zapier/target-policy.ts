// Which outbound targets Helix may call (SSRF protection, DESIGN section 11): `https` to public
// addresses only, unless HELIX_OUTBOUND_ALLOW lists the host or its address (then `http` too). The
// address is checked where the connection is made (an undici dispatcher whose connector resolves
// through a guarded lookup), so a name that resolves elsewhere later (DNS rebinding) cannot pass.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { HelixError, StartupError } from '../../core/errors.js'

/** Private, loopback, link-local, shared, multicast and reserved ranges: never a webhook target. */
const FORBIDDEN_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24',
  '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4']
const FORBIDDEN_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8', '2001:db8::/32', '100::/64']

export class TargetRefused extends HelixError {
  override name = 'TargetRefused'
  constructor(message: string) {
    super(400, 'target_refused', message)
  }
}

function addSubnet(list: BlockList, cidr: string): void {
  const [network, bits] = cidr.split('/')
  const type = isIP(network!) === 6 ? 'ipv6' : 'ipv4'
  if (isIP(network!) === 0 || !/^\d{1,3}$/.test(bits ?? '')) throw new StartupError(`HELIX_OUTBOUND_ALLOW: ${cidr} is not a CIDR such as 10.0.0.0/8`)
  list.addSubnet(network!, Number(bits), type)
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

/** `::ffff:10.0.0.1` and `64:ff9b::a00:1` reach an IPv4 address: judge that one. */
function embeddedV4(address: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (!hex) return null
  const hi = parseInt(hex[1]!, 16)
  const lo = parseInt(hex[2]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

export class TargetPolicy {
  private readonly forbidden = new BlockList()
  private readonly allowedAddresses = new BlockList()
  private readonly allowedNames = new Set<string>()

  constructor(allow: readonly string[]) {
    for (const cidr of FORBIDDEN_V4) addSubnet(this.forbidden, cidr)
    for (const cidr of FORBIDDEN_V6) addSubnet(this.forbidden, cidr)
    for (const entry of allow) {
      const value = stripBrackets(entry.trim().toLowerCase())
      if (value.includes('/')) addSubnet(this.allowedAddresses, value)
      else if (isIP(value)) this.allowedAddresses.addAddress(value, isIP(value) === 6 ? 'ipv6' : 'ipv4')
      else if (value) this.allowedNames.add(value)
    }
  }

  static fromSetting(value: string | undefined): TargetPolicy {
    return new TargetPolicy((value ?? '').split(',').filter((s) => s.trim().length > 0))
  }

  /** True when `address` may be connected to (for a connection to `hostname`). */
  addressAllowed(address: string, hostname?: string): boolean {
    if (hostname && this.allowedNames.has(stripBrackets(hostname.toLowerCase()))) return true
    const v4 = isIP(address) === 6 ? embeddedV4(address) : null
    const ip = v4 ?? address
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
    if (this.allowedAddresses.check(ip, type)) return true
    return !this.forbidden.check(ip, type)
  }

  /** Listed in HELIX_OUTBOUND_ALLOW by name or address: plain `http` is allowed. */
  private listed(hostname: string): boolean {
    const host = stripBrackets(hostname.toLowerCase())
    if (this.allowedNames.has(host)) return true
    const family = isIP(host)
    return family !== 0 && this.allowedAddresses.check(host, family === 6 ? 'ipv6' : 'ipv4')
  }

  /**
   * Checks a target URL before it is stored or called: its scheme, and the addresses its host has
   * now (the connection checks again). Throws TargetRefused.
   */
  async check(target: string, lookup: (host: string) => Promise<LookupAddress[]> = resolveAll): Promise<URL> {
    let url: URL
    try {
      url = new URL(target)
    } catch {
      throw new TargetRefused('target_url is not a URL')
    }
    if (url.username || url.password) throw new TargetRefused('target_url must not carry credentials')
    const host = stripBrackets(url.hostname)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.listed(host))) {
      throw new TargetRefused('target_url must be https (plain http only for hosts HELIX_OUTBOUND_ALLOW lists)')
    }
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host).catch(() => {
      throw new TargetRefused(`target_url's host ${host} does not resolve`)
    })
    const refused = addresses.find((a) => !this.addressAllowed(a.address, host))
    if (refused) throw new TargetRefused(`target_url's host ${host} is ${refused.address}: private, loopback and link-local targets are refused`)
    return url
  }

  /** A lookup for net/tls.connect that fails when any address of the name is refused. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (err, addresses) => {
      if (err) return callback(err, '', 0)
      const refused = addresses.find((a) => !this.addressAllowed(a.address, hostname))
      if (refused) return callback(refusal(hostname, refused.address), '', 0)
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
      callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }

  /** The dispatcher for deliveries: every connection resolved and checked here, redirects never followed. */
  dispatcher(options: { timeoutMs: number; connections?: number }): Agent {
    const connect = buildConnector({ timeout: options.timeoutMs, lookup: this.lookup } as buildConnector.BuildOptions)
    return new Agent({
      connections: options.connections ?? 32,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 10_000,
      connect: (opts, callback) => {
        // An IP literal is never looked up: judge it here.
        const host = stripBrackets(opts.hostname)
        if (isIP(host) && !this.addressAllowed(host, host)) return callback(refusal(host, host), null)
        return connect(opts, callback)
      }
    })
  }
}

function refusal(hostname: string, address: string): Error {
  return Object.assign(new Error(`refused to connect to ${hostname} (${address}): private, loopback and link-local targets are refused`), { code: 'ERR_TARGET_REFUSED' })
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))))
}

