import { createHash } from 'node:crypto';

import { merkleLeafHash, merkleNodeHash, merkleRootHex, merkleTreeHash } from '../../../lib/archive';

const sha256 = (...parts: Buffer[]) => {
	const hash = createHash('sha256');
	for (const part of parts) hash.update(part);
	return hash.digest();
};

/**
 * An independent implementation, written the other way round: bottom-up, level by level, as in
 * RFC 6962 §2.1.3's note that the tree is built by pairing left to right and promoting an unpaired
 * right-most node unchanged. Equal to the recursive definition for every n.
 */
function bottomUp(leaves: Buffer[]): string {
	if (leaves.length === 0) return sha256(Buffer.alloc(0)).toString('hex');
	let level: Buffer[] = leaves.map((d) => sha256(Buffer.from([0]), d));
	while (level.length > 1) {
		const next: Buffer[] = [];
		for (let i = 0; i < level.length; i += 2) {
			next.push(i + 1 < level.length ? sha256(Buffer.from([1]), level[i], level[i + 1]) : level[i]);
		}
		level = next;
	}
	return level[0].toString('hex');
}

const leaf = (i: number) => Buffer.from(`leaf ${i}`, 'utf8');

describe('RFC 6962 §2.1 Merkle Tree Hash', () => {
	it('empty tree = SHA-256 of the empty string', () => {
		expect(merkleRootHex([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
	});

	it('single leaf = SHA-256(0x00 || d) (RFC 6962 test vector for the empty leaf)', () => {
		// certificate-transparency-go testdata: leaf hash of the empty string
		expect(merkleRootHex([Buffer.alloc(0)])).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
		expect(merkleTreeHash([leaf(0)])).toEqual(sha256(Buffer.from([0]), leaf(0)));
	});

	it('two and three leaves by hand', () => {
		const h = (i: number) => sha256(Buffer.from([0]), leaf(i));
		const n = (a: Buffer, b: Buffer) => sha256(Buffer.from([1]), a, b);
		expect(merkleTreeHash([leaf(0), leaf(1)])).toEqual(n(h(0), h(1)));
		// n = 3: k = 2 → MTH(D[0:2]) and MTH(D[2:3])
		expect(merkleTreeHash([leaf(0), leaf(1), leaf(2)])).toEqual(n(n(h(0), h(1)), h(2)));
		// n = 5: k = 4
		expect(merkleTreeHash([0, 1, 2, 3, 4].map(leaf))).toEqual(n(n(n(h(0), h(1)), n(h(2), h(3))), h(4)));
		expect(merkleLeafHash(leaf(7))).toEqual(h(7));
		expect(merkleNodeHash(h(0), h(1))).toEqual(n(h(0), h(1)));
	});

	it('RFC 6962 reference vectors (the 8 leaves of the CT test suite)', () => {
		const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
			(hex) => Buffer.from(hex, 'hex'),
		);
		// roots for 1..8 leaves from certificate-transparency (merkle_tree_test.cc / testdata)
		const roots = [
			'6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
			'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
			'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
			'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
			'4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
			'76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
			'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
			'5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
		];
		for (let n = 1; n <= 8; n++) expect(merkleRootHex(inputs.slice(0, n))).toBe(roots[n - 1]);
	});

	it('equals an independent bottom-up implementation for 0..70 leaves', () => {
		for (let n = 0; n <= 70; n++) {
			const leaves = Array.from({ length: n }, (_, i) => leaf(i));
			expect(merkleRootHex(leaves)).toBe(bottomUp(leaves));
		}
	});

	it('changes when a leaf changes, is added or the order changes', () => {
		const base = [0, 1, 2, 3, 4, 5].map(leaf);
		const root = merkleRootHex(base);
		expect(merkleRootHex([...base.slice(0, 5), Buffer.from('leaf 5!')])).not.toBe(root);
		expect(merkleRootHex([...base, leaf(6)])).not.toBe(root);
		expect(merkleRootHex([base[1], base[0], ...base.slice(2)])).not.toBe(root);
	});
});
