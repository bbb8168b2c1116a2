// Where an iCal import may point. The URL is typed by an admin and fetched by Skerry's own server, so
// without a policy it reaches whatever the server can: the cloud's metadata service, Postgres, the
// Temporal frontend, the admin door. Refused: schemes other than http(s), plain http where HTTPS is
// required, and any address that is not on the public internet (loopback, RFC 1918, link-local
// with 169.254.169.254, unique-local and link-local IPv6, IPv4 inside IPv6 forms). The check runs
// twice: at registration on the name as it resolves then (a clear 400), and at every connection on
// the very addresses the socket is given (`guardedLookup`), so a name that resolves elsewhere later
// (DNS rebinding) or a redirect to an inside address is refused too. Hosts on the allow-list (the
// local sandboxes of `npm start`, tests) skip the address check; nothing is allowed by default.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

export interface IcalUrlPolicy {
  /** `host` or `host:port` entries whose addresses are not checked (ICAL_IMPORT_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  /** Plain http is refused unless the host is on the allow-list (ICAL_IMPORT_REQUIRE_HTTPS). */
  requireHttps: boolean;
}

export type IcalUrlRefusal = 'scheme' | 'insecure' | 'forbidden_address' | 'unresolvable';

export class IcalUrlError extends Error {
  override readonly name = 'IcalUrlError';
  constructor(
    readonly reason: IcalUrlRefusal,
    message: string,
  ) {
    super(message);
  }
}

const blocked = new BlockList();
const RANGES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'this network'],
  ['10.0.0.0', 8, 'ipv4', 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fc00::', 7, 'ipv6', 'unique-local'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];
const reasons: Array<{ list: BlockList; reason: string }> = RANGES.map(([network, prefix, family, reason]) => {
  blocked.addSubnet(network, prefix, family);
  const one = new BlockList();
  one.addSubnet(network, prefix, family);
  return { list: one, reason };
});

/** An IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4), which reaches that IPv4 host. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const high = parseInt(sixToFour[1]!, 16);
    const low = parseInt(sixToFour[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/** Why an IP address is not on the public internet, or undefined when it is. */
export function nonPublicReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedIpv4(bare);
    if (inner) return nonPublicReason(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (!blocked.check(bare, type)) return undefined;
  return reasons.find((entry) => entry.list.check(bare, type))?.reason ?? 'not public';
}

const defaultPort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');
const hostnameOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** Whether the URL's host (with or without its port) is on the allow-list. */
export function isAllowListed(url: URL, policy: Pick<IcalUrlPolicy, 'allowedHosts'>): boolean {
  const host = hostnameOf(url);
  const withPort = `${host}:${defaultPort(url)}`;
  return policy.allowedHosts.some((entry) => {
    const wanted = entry.trim().toLowerCase().replace(/^\[([^\]]+)\](:\d+)?$/, '$1$2');
    return wanted === host || wanted === withPort;
  });
}

/**
 * The checks that need no DNS: scheme, HTTPS, a literal address or a name that is loopback by
 * definition. Returns whether the host is allow-listed (its addresses are then not checked).
 */
export function checkIcalUrlSyntax(raw: string | URL, policy: IcalUrlPolicy): { url: URL; allowListed: boolean } {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    throw new IcalUrlError('scheme', 'not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new IcalUrlError('scheme', `${url.protocol.replace(/:$/, '')}: URLs are not fetched; use https`);
  const allowListed = isAllowListed(url, policy);
  if (url.protocol === 'http:' && policy.requireHttps && !allowListed) throw new IcalUrlError('insecure', `plain http to ${url.host} is refused: this deployment requires https`);
  if (allowListed) return { url, allowListed };
  const host = hostnameOf(url);
  if (isIP(host)) {
    const reason = nonPublicReason(host);
    if (reason) throw new IcalUrlError('forbidden_address', `${url.host} is a ${reason} address, not one on the internet`);
  } else if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new IcalUrlError('forbidden_address', `${url.host} is a loopback name, not a host on the internet`);
  }
  return { url, allowListed };
}

export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

const systemLookupAll: LookupAll = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Every address a name resolves to must be public: one inside address is enough to refuse it. */
function refuseNonPublic(hostname: string, addresses: readonly LookupAddress[]): void {
  if (addresses.length === 0) throw new IcalUrlError('unresolvable', `${hostname} resolves to no address`);
  for (const { address } of addresses) {
    const reason = nonPublicReason(address);
    if (reason) throw new IcalUrlError('forbidden_address', `${hostname} resolves to ${address}, a ${reason} address, not one on the internet`);
  }
}

/** The registration check: the syntax, then the name as it resolves now. */
export async function checkIcalUrl(raw: string, policy: IcalUrlPolicy, lookupAll: LookupAll = systemLookupAll): Promise<URL> {
  const { url, allowListed } = checkIcalUrlSyntax(raw, policy);
  const host = hostnameOf(url);
  if (allowListed || isIP(host)) return url;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host);
  } catch (err) {
    throw new IcalUrlError('unresolvable', `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  refuseNonPublic(host, addresses);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the socket (net.connect's option, undici's `connect.lookup`): resolves the name and
 * hands over only addresses that passed the check, so the address connected to is the address
 * checked. Answers in both shapes net asks for (`all: true` when it races address families).
 */
export function guardedLookup(lookupAll: LookupAll = systemLookupAll) {
  return (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options?.all === true;
    lookupAll(hostname).then(
      (addresses) => {
        try {
          refuseNonPublic(hostname, addresses);
        } catch (err) {
          return callback(Object.assign(err as IcalUrlError, { code: 'ERR_ICAL_FORBIDDEN_ADDRESS' }), all ? [] : '', undefined);
        }
        if (all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, all ? [] : '', undefined),
    );
  };
}
