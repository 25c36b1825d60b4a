import { describe, expect, it } from 'vitest';
import { peerKey } from '../../../src/server/peer-address.js';

describe('peerKey: the peers maxConnectionsPerAddress counts as one', () => {
  it.each([
    ['192.168.1.20', '192.168.1.20'],
    ['::ffff:192.168.1.20', '192.168.1.20'], // a dual-stack listener's view of an IPv4 peer
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '0:0:0:0::/64'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'], // same /64: one peer
    ['2001:0DB8:0001:0002:ffff::9', '2001:db8:1:2::/64'],
    ['2001:db8::5', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['fe80::2', 'fe80:0:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(peerKey(address)).toBe(key);
  });

  it('no address (a socket already gone) is not counted', () => {
    expect(peerKey(undefined)).toBeUndefined();
    expect(peerKey('')).toBeUndefined();
  });
});
