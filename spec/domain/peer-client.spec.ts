/** The peer-ID decoder: one row per convention and per client whose version is written its own way. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clientBreakdown, clientFamily, peerClient, peerClientText } from '../../src/domain/peer-client.js';

/** A 20-byte ID: the given prefix, then bytes that are not printable (as real clients' random tails often are). */
const id = (prefix: string, tail = 0x8f): Buffer => Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(20 - prefix.length, tail)]);

const TABLE: readonly (readonly [prefix: string, text: string])[] = [
  // Azureus style: three significant version characters, the fourth a build or tag.
  ['-qB4650-', 'qBittorrent 4.6.5'],
  ['-qB5010-', 'qBittorrent 5.0.1'],
  ['-TR4060-', 'Transmission 4.0.6'],
  ['-TR2940-', 'Transmission 2.94'],
  ['-TR3000-', 'Transmission 3.00'],
  ['-LT2080-', 'libtorrent 2.0.8'],
  ['-LT12A0-', 'libtorrent 1.2.10'],
  ['-lt0D80-', 'libTorrent 0.13.8'],
  ['-DE13F0-', 'Deluge 1.3.15'],
  ['-DE211s-', 'Deluge 2.1.1'],
  ['-UT355W-', 'µTorrent 3.5.5'],
  ['-UT3550-', 'µTorrent 3.5.5'],
  ['-UM1870-', 'µTorrent Mac 1.8.7'],
  ['-BT7A50-', 'BitTorrent 7.10.5'],
  ['-AZ5770-', 'Vuze 5.7.7.0'],
  ['-BI3800-', 'BiglyBT 3.8.0.0'],
  ['-KT5100-', 'KTorrent 5.1.0'],
  ['-BC0150-', 'BitComet 1.50'],
  ['-FD6000-', 'Free Download Manager 6.0.0'],
  ['-WW0105-', 'WebTorrent 1.5'],
  ['-AR1210-', 'Arctic 1.2.1'],
  ['-PI0130-', 'PicoTorrent 0.1.3'],
  // Shadow style: a letter, version characters (0-9, A-Z from 10, a-z from 36), dashes.
  ['S58B-----', 'Shadow 5.8.11'],
  ['T03I-----', 'BitTornado 0.3.18'],
  ['A310--', 'ABC 3.1.0'],
  // Mainline.
  ['M7-2-0--', 'Mainline 7.2.0'],
  ['M4-20-8-', 'Mainline 4.20.8'],
  // An unlisted Azureus-style tag is shown as the tag; anything else is unknown (not its first bytes).
  ['-XX0001-', '-XX0001-'],
  ['-qB46', 'unknown'],
  ['ExbC0123456789', 'unknown'],
  ['P', 'unknown'],
  ['', 'unknown'],
];

test('decodes each convention and client (table)', () => {
  for (const [prefix, text] of TABLE) assert.is(peerClientText(id(prefix)), text, `peer ID ${JSON.stringify(prefix)}`);
});

test('a printable tail does not change the result; unknown IDs are marked unknown', () => {
  assert.is(peerClientText(Buffer.from('-qB4650-abcdefghijkl')), 'qBittorrent 4.6.5');
  assert.is(peerClientText(Buffer.from('M7-2-0--abcdefghijkl')), 'Mainline 7.2.0');
  assert.equal(peerClient(id('-qB4650-')), { name: 'qBittorrent', version: '4.6.5', known: true });
  assert.equal(peerClient(id('-XX0001-')), { name: '-XX0001-', version: '', known: false });
  assert.equal(peerClient(Buffer.alloc(20, 0)), { name: 'unknown', version: '', known: false });
  // Shadow's letter followed by something that is not a version and dashes is not Shadow-style.
  assert.is(peerClient(Buffer.from('Something-else-12345')).known, false);
});

test('the breakdown counts each client once per peer, most first, unknown ones as other', () => {
  const peers = ['-qB4650-', '-TR4060-', '-qB4630-', '-LT2080-', '-qB5010-', '-TR4060-', '-XX0001-', ''].map((p) =>
    clientFamily(peerClient(id(p))),
  );
  assert.equal(clientBreakdown(peers), [
    { name: 'qBittorrent', count: 3 },
    { name: 'Transmission', count: 2 },
    { name: 'other', count: 2 },
    { name: 'libtorrent', count: 1 },
  ]);
  assert.equal(clientBreakdown([]), []);
});

test.run();
