import type { S3Client } from '@aws-sdk/client-s3';

import { getObjectBytes, listKeys } from '../s3';
import { SEALS_FOLDER } from './manifest';
import { normalizePrefix } from './layout';
import type { SealManifest } from './types';

/**
 * A lookup of sealed ciphertext hashes: reads every manifest under `sealsPrefix` (default
 * `<prefix>/_seals`; ListObjectsV2 + one GetObject per manifest) and returns
 * `(key, versionId) → sha256 | null`. Fits the retention sweeper's `sha256Lookup` option, so deletion
 * reports carry the hash the seal recorded (and Verify can compare them). Manifests are not
 * signature-checked here: the hashes only annotate reports.
 *
 * @throws ArchiveError with the store's code.
 */
export async function loadSealedHashes(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	sealsPrefix?: string;
}): Promise<(key: string, versionId: string) => string | null> {
	const { client, bucket } = options;
	const sealsPrefix = options.sealsPrefix
		? normalizePrefix(options.sealsPrefix)
		: `${normalizePrefix(options.prefix)}/${SEALS_FOLDER}`;
	const hashes = new Map<string, string>();
	const manifestKeys = (await listKeys(client, bucket, `${sealsPrefix}/`)).filter((key) =>
		key.endsWith('.json'),
	);
	for (const key of manifestKeys) {
		let manifest: SealManifest | null = null;
		try {
			manifest = JSON.parse(
				(await getObjectBytes(client, bucket, key)).toString('utf8'),
			) as SealManifest;
		} catch (error) {
			if (error instanceof SyntaxError) continue;
			throw error;
		}
		if (manifest?.type !== 'chat-archive.seal-manifest' || !Array.isArray(manifest.entries))
			continue;
		for (const entry of manifest.entries)
			if (entry.sha256) hashes.set(`${entry.version_id}\u0000${entry.key}`, entry.sha256);
	}
	return (key: string, versionId: string) => hashes.get(`${versionId}\u0000${key}`) ?? null;
}
