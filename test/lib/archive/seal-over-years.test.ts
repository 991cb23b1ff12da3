/**
 * A seal outlives the key that signed it: Verify checks the signature as of the seal's own time
 * (the signature's creation time) and reports the key's expiry and revocation apart. Keys are made
 * and revoked by real gpg; seals live in the local Ceph RGW store.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { sealPrefix, verifySeal, writeObject } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { readPrivateKey, readPublicKeys } from '../../../lib/pgp';
import { gpg, gpgRevokeWithReason, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { makeBucket, s3Settings } from '../../helpers/s3';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** gpg's `--faked-system-time` form of a date (UTC, clock running). */
const gpgTime = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, '');

describe('verifySeal over the years: signature as of the seal time, key status apart (local RGW, gpg)', () => {
	let client: S3Client;
	let bucket: string;
	const homes: GpgHome[] = [];
	let n = 0;

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(async () => {
		client?.destroy();
		for (const home of homes) await home.cleanup();
	});

	/** A fresh prefix with two records, sealed with the secret key of `home`. */
	async function sealWith(home: GpgHome) {
		const prefix = `years-${++n}`;
		for (const i of [0, 1]) {
			await writeObject({ client, bucket, key: `${prefix}/default/106/2026/01/01/${randomBytes(16).toString('hex')}-${i}.pgp`, body: randomBytes(64) });
		}
		const signingKey = await readPrivateKey({ armoredKey: home.secretKeyArmored });
		return await sealPrefix({ client, bucket, prefix, signer: signingKey });
	}

	async function newHome(options: Parameters<typeof makeGpgHome>[0] = {}) {
		const home = await makeGpgHome({ userId: 'Seal Signer <seal@example.org>', ...options });
		homes.push(home);
		return home;
	}

	it('a seal made while its key was valid verifies after the key expired; the expiry is reported apart', async () => {
		// the primary (signing) key expires 20 s after it is made: seal at once, then let it expire
		const home = await newHome({ primaryExpiry: 'seconds=20' });
		const keys = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
		const expires = (await keys[0].getExpirationTime()) as Date;
		const seal = await sealWith(home);
		expect(Date.parse(seal.manifest.created_at)).toBeLessThan(expires.getTime());
		await sleep(Math.max(0, expires.getTime() - Date.now()) + 1500);

		const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: keys });
		expect(result.signature).toMatchObject({ valid: true, signerFingerprint: home.fingerprint, reason: null });
		expect(result.signature.checkedAt).toBe(result.signature.created);
		expect(result.signature.key).toMatchObject({
			status: 'expired',
			expires: expires.toISOString(),
			revoked: false,
			revocationReason: null,
		});
		expect(result.problems).toEqual([]);
		expect(result.valid).toBe(true);
	});

	it('a key revoked after sealing as superseded: the seal still verifies as of its time, the revocation is reported', async () => {
		const home = await newHome();
		const seal = await sealWith(home);
		// signature times have whole seconds: revoke in a later second than the seal
		await sleep(1200);
		const revoked = await readPublicKeys({ armoredKeys: gpgRevokeWithReason(home.home, home.fingerprint, 'superseded') });

		const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: revoked });
		expect(result.signature).toMatchObject({ valid: true, reason: null });
		expect(result.signature.key).toMatchObject({
			status: 'revoked',
			revoked: true,
			revocationReason: 'superseded',
			revocationReasonCode: 1,
			hardRevocation: false,
		});
		expect(Date.parse(result.signature.key!.revokedAt!)).toBeGreaterThan(Date.parse(result.signature.created!));
		expect(result.valid).toBe(true);
	});

	it('a key revoked after sealing as compromised: no signature of it is trusted, whatever its date', async () => {
		const home = await newHome();
		const seal = await sealWith(home);
		await sleep(1200);
		const revoked = await readPublicKeys({ armoredKeys: gpgRevokeWithReason(home.home, home.fingerprint, 'compromised') });

		const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: revoked });
		expect(result.signature.valid).toBe(false);
		expect(result.signature.reason).toMatch(/revoked on \d{4}-\d{2}-\d{2}.*compromised.*whatever its date/);
		expect(result.signature.key).toMatchObject({
			status: 'revoked',
			revocationReason: 'compromised',
			revocationReasonCode: 2,
			hardRevocation: true,
		});
		expect(result.valid).toBe(false);
	});

	it('a seal signed with a key that had already expired, backdated to when it was valid, is caught by the store time', async () => {
		// a key made 2020-01-01 that expired a year (365 days) later; gpg signs the manifest with its clock set back to 2020
		const then = new Date('2020-06-01T12:00:00Z');
		const home = await newHome({ primaryExpiry: '1y', fakedSystemTime: gpgTime(new Date('2020-01-01T12:00:00Z')) });
		const keys = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
		const prefix = `years-${++n}`;
		await writeObject({ client, bucket, key: `${prefix}/default/106/2020/06/01/${randomBytes(16).toString('hex')}.pgp`, body: randomBytes(64) });
		const seal = await sealPrefix({
			client,
			bucket,
			prefix,
			now: then,
			objectLock: null,
			signer: async (data) => ({
				signature: gpg(home.home, ['--faked-system-time', gpgTime(then), '--passphrase', '', '--armor', '--detach-sign'], Buffer.from(data)).toString(),
				signerFingerprint: home.fingerprint,
			}),
		});

		const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: keys });
		expect(result.signature).toMatchObject({ valid: true });
		expect(result.signature.key).toMatchObject({ status: 'expired' });
		expect(result.problems.join(' ')).toMatch(/stored on \d{4}-\d{2}-\d{2}.*after the signing key expired on 2020-12-31T12:00/);
		expect(result.valid).toBe(false);
	});
});
