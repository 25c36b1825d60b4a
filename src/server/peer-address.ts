/**
 * Which peers count as one for `server.limits.maxConnectionsPerAddress`: an IPv4 address (also
 * when a dual-stack listener shows it IPv4-mapped), or an IPv6 /64 — one host on a LAN picks any
 * number of addresses in its /64 (privacy addresses, or on purpose), so counting full IPv6
 * addresses would bound nothing. Loopback is a peer like any other (a reverse proxy on the Pi is
 * one peer for all its dashboards: README "Limits").
 */
export function peerKey(address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!address.includes(':')) return address;
  return `${ipv6Prefix64(address)}::/64`;
}

/** The first four groups of an IPv6 address, each without leading zeros. */
function ipv6Prefix64(address: string): string {
  const bare = address.split('%')[0]!; // a link-local zone (fe80::1%eth0)
  const cut = bare.indexOf('::');
  const head = (cut < 0 ? bare : bare.slice(0, cut)).split(':').filter((g) => g !== '');
  const groups = cut < 0 ? head : [...head, '0', '0', '0', '0'];
  return groups
    .slice(0, 4)
    .map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16).toString(16) : g))
    .join(':');
}
