/**
 * Test helper: throw-away GnuPG homes and gpg / sq invocations, for interoperability tests.
 *
 * Keys are generated at test time in a temporary GNUPGHOME (no passphrase unless asked) and
 * deleted by `cleanup()`. Nothing here is committed key material.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Key flavours `makeGpgHome` can generate. */
export type GpgKeyType = 'rsa3072' | 'ed25519' | 'rsa1024' | 'dsa2048' | 'nistp256';

/** Primary and encryption-subkey algorithms gpg is asked for, per {@link GpgKeyType}. */
const KEY_ALGORITHMS: Record<GpgKeyType, { primary: string; sub: string }> = {
	ed25519: { primary: 'ed25519', sub: 'cv25519' },
	rsa3072: { primary: 'rsa3072', sub: 'rsa3072' },
	rsa1024: { primary: 'rsa1024', sub: 'rsa1024' },
	dsa2048: { primary: 'dsa2048', sub: 'elg2048' },
	nistp256: { primary: 'nistp256', sub: 'nistp256' },
};

/** Options of {@link makeGpgHome}. */
export interface MakeGpgHomeOptions {
	/**
	 * `ed25519` (ed25519 primary + cv25519 encryption subkey, the default), `rsa3072` / `rsa1024`,
	 * `dsa2048` (DSA primary + ElGamal 2048 subkey) or `nistp256` (ECDSA + ECDH on P-256).
	 */
	keyType?: GpgKeyType;
	/** User ID, default `Archive Test <archive-test@example.org>`. */
	userId?: string;
	/** Protect the secret key with this passphrase (default: none). */
	passphrase?: string;
	/** Expiry of the encryption subkey as gpg accepts it (`never`, `1d`, an ISO date…); default `never`. */
	encryptionSubkeyExpiry?: string;
	/** Expiry of the primary key (gpg syntax); default `never`. */
	primaryExpiry?: string;
	/**
	 * gpg `--faked-system-time` for generating the key, e.g. `20240101T120000!` (the `!` stops the
	 * clock), so keys can be created already expired with a known expiry day.
	 */
	fakedSystemTime?: string;
	/** Add a second encryption subkey (same algorithm) with this expiry and faked creation time. */
	secondEncryptionSubkey?: { expiry?: string; fakedSystemTime?: string };
}

/** A temporary GnuPG home holding one generated key pair. */
export interface GpgHome {
	/** The GNUPGHOME directory. */
	home: string;
	/** Upper-case primary key fingerprint. */
	fingerprint: string;
	/** `gpg --armor --export` of the key. */
	publicKeyArmored: string;
	/** `gpg --armor --export-secret-keys` of the key (protected by `passphrase` if one was given). */
	secretKeyArmored: string;
	/** Kill the agent and delete the directory. */
	cleanup: () => Promise<void>;
}

/** Run gpg in `home` (batch, loopback pinentry) and return stdout; throws with stderr on failure. */
export function gpg(home: string, args: string[], input?: Buffer | string): Buffer {
	try {
		return execFileSync(
			'gpg',
			['--homedir', home, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args],
			{ input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 },
		);
	} catch (error) {
		const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
		throw new Error(`gpg ${args.join(' ')} failed: ${stderr}`);
	}
}

/** Like {@link gpg} but returns stdout, stderr and exit status instead of throwing. */
export function gpgRaw(
	home: string,
	args: string[],
	input?: Buffer | string,
): { status: number; stdout: Buffer; stderr: string } {
	try {
		const stdout = execFileSync(
			'gpg',
			['--homedir', home, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args],
			{ input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 },
		);
		return { status: 0, stdout, stderr: '' };
	} catch (error) {
		const failure = error as { status?: number; stdout?: Buffer; stderr?: Buffer };
		return {
			status: failure.status ?? 1,
			stdout: failure.stdout ?? Buffer.alloc(0),
			stderr: failure.stderr?.toString() ?? '',
		};
	}
}

/** Fingerprints of the secret keys in `home`, newest last. */
function secretFingerprints(home: string): string[] {
	const listing = gpg(home, ['--with-colons', '--list-secret-keys']).toString();
	const result: string[] = [];
	let expectPrimaryFpr = false;
	for (const line of listing.split('\n')) {
		const fields = line.split(':');
		if (fields[0] === 'sec') expectPrimaryFpr = true;
		else if (fields[0] === 'fpr' && expectPrimaryFpr) {
			result.push(fields[9]);
			expectPrimaryFpr = false;
		} else if (fields[0] === 'ssb') expectPrimaryFpr = false;
	}
	return result;
}

/** Generate one more key pair in an existing home; returns its fingerprint. */
export function gpgGenerateKey(home: string, options: MakeGpgHomeOptions = {}): string {
	const keyType = options.keyType ?? 'ed25519';
	const userId = options.userId ?? 'Archive Test <archive-test@example.org>';
	const passphrase = ['--passphrase', options.passphrase ?? ''];
	const faked = (time?: string) => (time ? ['--faked-system-time', time] : []);
	const before = new Set(secretFingerprints(home));
	const { primary, sub } = KEY_ALGORITHMS[keyType];
	gpg(home, [
		...passphrase,
		...faked(options.fakedSystemTime),
		'--quick-gen-key',
		userId,
		primary,
		'sign,cert',
		options.primaryExpiry ?? 'never',
	]);
	const fingerprint = secretFingerprints(home).find((fpr) => !before.has(fpr));
	if (!fingerprint) throw new Error('gpg did not create a key');
	gpg(home, [
		...passphrase,
		...faked(options.fakedSystemTime),
		'--quick-add-key',
		fingerprint,
		sub,
		'encr',
		options.encryptionSubkeyExpiry ?? 'never',
	]);
	if (options.secondEncryptionSubkey) {
		gpg(home, [
			...passphrase,
			...faked(options.secondEncryptionSubkey.fakedSystemTime),
			'--quick-add-key',
			fingerprint,
			sub,
			'encr',
			options.secondEncryptionSubkey.expiry ?? 'never',
		]);
	}
	return fingerprint;
}

/**
 * Make a throw-away GNUPGHOME in the temp dir with one key pair (default ed25519/cv25519, no
 * passphrase) and export it.
 */
export async function makeGpgHome(options: MakeGpgHomeOptions = {}): Promise<GpgHome> {
	const home = mkdtempSync(join(tmpdir(), 'gpg-'));
	// Test keys only: a low S2K count keeps passphrase-protected key generation fast (ms, not s).
	writeFileSync(join(home, 'gpg-agent.conf'), 's2k-count 65536\n');
	const fingerprint = gpgGenerateKey(home, options);
	const publicKeyArmored = gpg(home, ['--armor', '--export', fingerprint]).toString();
	const secretKeyArmored = gpg(home, [
		'--passphrase',
		options.passphrase ?? '',
		'--armor',
		'--export-secret-keys',
		fingerprint,
	]).toString();
	const cleanup = async () => {
		try {
			execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
		} catch {
			// the agent may not have started
		}
		rmSync(home, { recursive: true, force: true });
	};
	return { home, fingerprint, publicKeyArmored, secretKeyArmored, cleanup };
}

/**
 * Revoke the key `fingerprint` of `home` with the revocation certificate gpg stored at generation
 * (`openpgp-revocs.d/<FPR>.rev`, leading ":" guard removed) and return the revoked public key, armored.
 */
export function gpgRevoke(home: string, fingerprint: string): string {
	const certificate = readFileSync(join(home, 'openpgp-revocs.d', `${fingerprint}.rev`), 'utf8');
	gpg(home, ['--import'], certificate.replace(/^:-----/m, '-----'));
	return gpg(home, ['--armor', '--export', fingerprint]).toString();
}

/** RFC 9580 §5.2.3.31 reasons for revocation, by the number of gpg's `--gen-revoke` menu that gives each. */
const GPG_REVOCATION_MENU = { none: '0', compromised: '1', superseded: '2', retired: '3' } as const;

/**
 * Revoke the key `fingerprint` of `home` with a fresh revocation signature giving `reason` (gpg
 * `--gen-revoke` answered on `--command-fd`), import it, and return the revoked public key, armored.
 */
export function gpgRevokeWithReason(home: string, fingerprint: string, reason: keyof typeof GPG_REVOCATION_MENU): string {
	const answers = `y\n${GPG_REVOCATION_MENU[reason]}\n\ny\n`;
	// --gen-revoke refuses --batch: its questions are answered on --command-fd instead
	const certificate = execFileSync(
		'gpg',
		['--homedir', home, '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--command-fd', '0', '--armor', '--gen-revoke', fingerprint],
		{ input: answers, stdio: ['pipe', 'pipe', 'pipe'] },
	);
	gpg(home, ['--import'], certificate);
	return gpg(home, ['--armor', '--export', fingerprint]).toString();
}

/** `gpg --decrypt` (throws with gpg's stderr if it fails). Returns the plaintext bytes. */
export function gpgDecrypt(home: string, ciphertext: Buffer | Uint8Array | string): Buffer {
	const input = typeof ciphertext === 'string' ? ciphertext : Buffer.from(ciphertext);
	return gpg(home, ['--passphrase', '', '--decrypt'], input);
}

/** `gpg --decrypt` with status output: plaintext and the `--status-fd` lines (for algorithm checks). */
export function gpgDecryptWithStatus(
	home: string,
	ciphertext: Buffer | Uint8Array | string,
): { plaintext: Buffer; status: string } {
	const input = typeof ciphertext === 'string' ? ciphertext : Buffer.from(ciphertext);
	const dir = mkdtempSync(join(tmpdir(), 'gpgstatus-'));
	try {
		const statusFile = join(dir, 'status');
		const plaintext = gpg(
			home,
			['--passphrase', '', '--status-file', statusFile, '--decrypt'],
			input,
		);
		return { plaintext, status: readFileSync(statusFile, 'utf8') };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** Options of {@link gpgEncrypt}. */
export interface GpgEncryptOptions {
	/** Recipient fingerprints (keys must be in `home`). */
	recipients: string[];
	/** ASCII armor. */
	armor?: boolean;
	/** `--compress-algo` (`none`, `zip`, `zlib`, `bzip2`). */
	compressAlgo?: 'none' | 'zip' | 'zlib' | 'bzip2';
	/** `--throw-keyids` (hidden recipients). */
	throwKeyids?: boolean;
	/** Sign with this secret key of `home` too. */
	signWith?: string;
	/** Passphrase of the signing key (default none). */
	passphrase?: string;
}

/** `gpg --encrypt` (trust model always). Returns the ciphertext. */
export function gpgEncrypt(
	home: string,
	plaintext: Buffer | string,
	options: GpgEncryptOptions,
): Buffer {
	const args = ['--trust-model', 'always', '--passphrase', options.passphrase ?? ''];
	for (const recipient of options.recipients) args.push('--recipient', recipient);
	if (options.armor) args.push('--armor');
	if (options.compressAlgo) args.push('--compress-algo', options.compressAlgo);
	if (options.throwKeyids) args.push('--throw-keyids');
	if (options.signWith) args.push('--local-user', options.signWith, '--sign');
	args.push('--encrypt');
	return gpg(home, args, plaintext);
}

/** Import armored or binary keys into `home`. */
export function gpgImport(home: string, keys: string | Uint8Array): void {
	gpg(home, ['--import'], typeof keys === 'string' ? keys : Buffer.from(keys));
}

/** `gpg --detach-sign` with the key `signer` of `home`. */
export function gpgDetachSign(home: string, data: Buffer, signer: string, armor = false): Buffer {
	const args = ['--passphrase', '', '--local-user', signer];
	if (armor) args.push('--armor');
	args.push('--detach-sign');
	return gpg(home, args, data);
}

/**
 * `gpg --verify`: detached when `signature` is given, else an inline signed message.
 * Returns whether gpg reported a good signature and its status lines.
 */
export function gpgVerify(
	home: string,
	data: Buffer | Uint8Array | string,
	signature?: Buffer | Uint8Array | string,
): { good: boolean; status: string } {
	const dir = mkdtempSync(join(tmpdir(), 'gpgverify-'));
	try {
		const dataFile = join(dir, 'data');
		writeFileSync(dataFile, typeof data === 'string' ? data : Buffer.from(data));
		const statusFile = join(dir, 'status');
		const args = ['--trust-model', 'always', '--status-file', statusFile, '--verify'];
		if (signature !== undefined) {
			const signatureFile = join(dir, 'signature');
			writeFileSync(
				signatureFile,
				typeof signature === 'string' ? signature : Buffer.from(signature),
			);
			args.push(signatureFile, dataFile);
		} else {
			args.push(dataFile);
		}
		gpgRaw(home, args);
		const status = readFileSync(statusFile, 'utf8');
		return { good: /\[GNUPG:\] GOODSIG /.test(status), status };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** `sq decrypt --recipient-key <secret key>`: decrypt with Sequoia. Throws with sq's stderr. */
export function sqDecrypt(
	secretKeyArmored: string,
	ciphertext: Buffer | Uint8Array | string,
): Buffer {
	const dir = mkdtempSync(join(tmpdir(), 'sq-'));
	try {
		const keyFile = join(dir, 'key.asc');
		writeFileSync(keyFile, secretKeyArmored);
		const input = typeof ciphertext === 'string' ? ciphertext : Buffer.from(ciphertext);
		try {
			return execFileSync('sq', ['decrypt', '--recipient-key', keyFile], {
				input,
				stdio: ['pipe', 'pipe', 'pipe'],
				maxBuffer: 1 << 30,
			});
		} catch (error) {
			const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
			throw new Error(`sq decrypt failed: ${stderr}`);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** `sq encrypt --recipient-cert <cert>` (optionally `--signer-key`, `--binary`). */
export function sqEncrypt(
	recipientCertArmored: string,
	plaintext: Buffer | string,
	options: { binary?: boolean; signerKeyArmored?: string } = {},
): Buffer {
	const dir = mkdtempSync(join(tmpdir(), 'sq-'));
	try {
		const certFile = join(dir, 'cert.asc');
		writeFileSync(certFile, recipientCertArmored);
		const args = ['encrypt', '--recipient-cert', certFile];
		if (options.binary) args.push('--binary');
		if (options.signerKeyArmored) {
			const signerFile = join(dir, 'signer.asc');
			writeFileSync(signerFile, options.signerKeyArmored);
			args.push('--signer-key', signerFile);
		}
		try {
			return execFileSync('sq', args, { input: plaintext, stdio: ['pipe', 'pipe', 'pipe'] });
		} catch (error) {
			const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
			throw new Error(`sq encrypt failed: ${stderr}`);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** `sq encrypt` to several recipient certificates at once (one PKESK each). */
export function sqEncryptToAll(
	recipientCertsArmored: string[],
	plaintext: Buffer | string,
	options: { binary?: boolean } = {},
): Buffer {
	const dir = mkdtempSync(join(tmpdir(), 'sq-'));
	try {
		const args = ['encrypt'];
		recipientCertsArmored.forEach((cert, index) => {
			const certFile = join(dir, `cert-${index}.asc`);
			writeFileSync(certFile, cert);
			args.push('--recipient-cert', certFile);
		});
		if (options.binary) args.push('--binary');
		try {
			return execFileSync('sq', args, { input: plaintext, stdio: ['pipe', 'pipe', 'pipe'] });
		} catch (error) {
			const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
			throw new Error(`sq encrypt failed: ${stderr}`);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** Key IDs (16 upper-case hex digits) of the PKESK packets of a message, via `gpg --list-packets`. */
export function gpgRecipientKeyIds(home: string, ciphertext: Buffer | Uint8Array): string[] {
	const listing = gpgRaw(home, ['--list-packets'], Buffer.from(ciphertext)).stdout.toString();
	return [
		...listing.matchAll(/:pubkey enc packet: version \d+, algo \d+, keyid ([0-9A-F]{16})/g),
	].map((match) => match[1]);
}
