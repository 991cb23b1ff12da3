/**
 * Child process of hostile-decrypt.test.ts: runs one decrypt path of the pack on one message, in a
 * fresh process so its RSS means something and the parent can stop a runaway (it samples this
 * process's RSS and the spool directory, and kills it past its caps).
 *
 *   node --import tsx decrypt-child.ts <config.json>
 *
 * Paths: `decrypt` (OpenPGP node Decrypt, the message as a stored binary: streamed to the spool),
 * `decrypt-inline` (the same with an inline binary), `get` (S3 Archive Record → Get with Decrypt),
 * `export` (S3 Archive Conversation → Export). The temp directory (spool parent) is `TMPDIR`, set
 * by the parent. Prints `{"ready":true}` once keys and modules are loaded, then one JSON result line:
 * outcome, wall and CPU seconds, the error (message, description), the longest event-loop stall and
 * ru_maxrss.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { executeContext } from '../../helpers/execute-context';
import { s3Settings } from '../../helpers/s3';

// By file name: tsx would resolve `X.node` to the codex file `X.node.json` beside it.
const { OpenPgp } = require('../../../nodes/OpenPgp/OpenPgp.node.ts') as typeof import('../../../nodes/OpenPgp/OpenPgp.node');
const { S3Archive } = require('../../../nodes/S3Archive/S3Archive.node.ts') as typeof import('../../../nodes/S3Archive/S3Archive.node');

export interface ChildConfig {
	path: 'decrypt' | 'decrypt-inline' | 'get' | 'export';
	/** The message (decrypt paths). */
	messageFile?: string;
	/** Armored private key (no passphrase). */
	privateKeyFile: string;
	/** Node parameters added to the path's own. */
	parameters?: Record<string, unknown>;
	bucket?: string;
	key?: string;
	indexKey?: string;
	pseudonym?: string;
}

export interface ChildResult {
	outcome: 'refused' | 'decrypted';
	seconds: number;
	/** CPU time (user + system) of the run: what it costs, whatever else shares the cores. */
	cpuSeconds: number;
	message?: string;
	description?: string;
	/** Output size (binary bytes or records) when decrypted. */
	output?: number;
	loopMaxMs: number;
	maxRss: number;
}

async function main(): Promise<void> {
	const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ChildConfig;
	const privateKey = { privateKey: readFileSync(config.privateKeyFile, 'utf8'), passphrase: '' };
	const message = config.messageFile ? readFileSync(config.messageFile) : Buffer.alloc(0);
	let run: () => Promise<number>;
	if (config.path === 'decrypt' || config.path === 'decrypt-inline') {
		const node = new OpenPgp();
		const binary =
			config.path === 'decrypt'
				? { id: 'filesystem-v2:message', data: '', mimeType: 'application/pgp-encrypted', fileName: 'message.pgp' }
				: { data: message.toString('base64'), mimeType: 'application/pgp-encrypted', fileName: 'message.pgp' };
		run = async () => {
			const context = executeContext({
				nodeType: node,
				items: [{ json: {}, binary: { data: binary } }],
				parameters: { operation: 'decrypt', decryptedOutput: 'binary', ...config.parameters },
				credentials: { openPgpPrivateKeyApi: privateKey },
				binaryStore: { 'filesystem-v2:message': message },
			});
			const [output] = await node.execute.call(context);
			return Number(output[0].binary?.data.fileSize ?? 0);
		};
	} else {
		const node = new S3Archive();
		const s3ArchiveApi = { ...s3Settings(), bucket: config.bucket, indexKey: config.indexKey };
		const parameters =
			config.path === 'get'
				? { resource: 'record', operation: 'get', key: config.key, decrypt: true }
				: { resource: 'conversation', operation: 'export', prefix: 'archive', exportOptions: { pseudonym: config.pseudonym } };
		// Warm-up, not measured: one List on the same bucket loads the S3 client's modules, which the
		// first request of a process loads lazily; the measured run is then the bomb's cost alone.
		await node.execute.call(
			executeContext({ nodeType: node, parameters: { resource: 'record', operation: 'list' }, credentials: { s3ArchiveApi } as never }),
		);
		run = async () => {
			const context = executeContext({
				nodeType: node,
				parameters: { ...parameters, ...config.parameters },
				credentials: { s3ArchiveApi, openPgpPrivateKeyApi: privateKey } as never,
			});
			const [output] = await node.execute.call(context);
			const json = output[0].json as { export?: { counts: { records: number } }; archive?: unknown };
			return json.export?.counts.records ?? Number(output[0].binary?.data?.fileSize ?? 1);
		};
	}
	process.stdout.write(JSON.stringify({ ready: true }) + '\n');
	const loop = monitorEventLoopDelay({ resolution: 10 });
	loop.enable();
	const started = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	const result: Partial<ChildResult> = {};
	try {
		result.output = await run();
		result.outcome = 'decrypted';
	} catch (error) {
		result.outcome = 'refused';
		result.message = (error as Error).message;
		result.description = (error as { description?: string }).description ?? undefined;
	}
	result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
	const used = process.cpuUsage(cpu);
	result.cpuSeconds = (used.user + used.system) / 1e6;
	loop.disable();
	result.loopMaxMs = loop.max / 1e6;
	result.maxRss = process.resourceUsage().maxRSS * 1024;
	process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		process.stderr.write(String((error as Error)?.stack ?? error) + '\n');
		process.exit(1);
	},
);
