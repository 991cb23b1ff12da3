/**
 * Forgery: every fixture delivery, mutated many ways (body bytes, header bytes, re-serialized body,
 * wrong secrets, a valid signature replayed over another body), POSTed to the template workflow in
 * in-process n8n → every request 401, no execution started, no object (nor version) in the store.
 * Encodings of the *same* HMAC (uppercase hex, header-name case, surrounding blanks) are not
 * forgeries: they are checked separately and reported.
 */
import { createHmac } from 'node:crypto';

import { record } from './helpers/counters';
import { fixtureMarkers, fixtures, prng, rawPost, sign } from './helpers/deliveries';
import { startPipeline, type Pipeline } from './helpers/pipeline';
import { findSecrets, OutputCapture } from './helpers/secrets';
import { listVersions, SuiteStore } from './helpers/store';

const SOAK = process.env.SOAK === '1';
const FLIPS_PER_FIXTURE = SOAK ? 400 : 24;

interface Mutation {
	label: string;
	body: Buffer;
	headers: Array<[string, string]>;
}

const json: [string, string] = ['Content-Type', 'application/json'];

function mutations(body: Buffer, secret: string, other: Buffer, seed: number): Mutation[] {
	const random = prng(seed);
	const good = sign(body, secret);
	const hex = good.slice('sha256='.length);
	const out: Mutation[] = [];
	const withSig = (label: string, value: string, b = body) => out.push({ label, body: b, headers: [json, ['X-Hub-Signature-256', value]] });

	// one byte of the body (first, last, and sampled positions), with the original signature
	const positions = new Set<number>([0, body.length - 1, Math.floor(body.length / 2)]);
	while (positions.size < Math.min(FLIPS_PER_FIXTURE, body.length)) positions.add(Math.floor(random() * body.length));
	for (const at of positions) {
		const flipped = Buffer.from(body);
		flipped[at] ^= 1 << Math.floor(random() * 8);
		withSig(`flip byte ${at}`, good, flipped);
	}
	// bytes added / removed
	withSig('trailing newline', good, Buffer.concat([body, Buffer.from('\n')]));
	withSig('trailing NUL', good, Buffer.concat([body, Buffer.from([0])]));
	withSig('last byte dropped', good, body.subarray(0, body.length - 1));
	withSig('empty body', good, Buffer.alloc(0));
	// re-serialized JSON with the original signature
	const parsed = JSON.parse(body.toString('utf8'));
	for (const [label, text] of [
		['re-serialized compact', JSON.stringify(parsed)],
		['re-serialized pretty', JSON.stringify(parsed, null, 2)],
		['re-serialized keys reordered', JSON.stringify({ entry: parsed.entry, object: parsed.object })],
	] as const) {
		const b = Buffer.from(text);
		if (!b.equals(body)) withSig(label, good, b);
	}
	// header value mutations
	withSig('prefix uppercase SHA256=', 'SHA256=' + hex);
	withSig('prefix sha1=', 'sha1=' + hex);
	withSig('prefix sha512=', 'sha512=' + hex);
	withSig('prefix sha256:', 'sha256:' + hex);
	withSig('no prefix', hex);
	withSig('double prefix', 'sha256=sha256=' + hex);
	withSig('hex 63 chars', 'sha256=' + hex.slice(0, 63));
	withSig('hex 65 chars', 'sha256=' + hex + '0');
	withSig('hex 128 chars', 'sha256=' + hex + hex);
	withSig('hex one nibble changed', 'sha256=' + hex.slice(0, 10) + ((parseInt(hex[10], 16) + 1) % 16).toString(16) + hex.slice(11));
	withSig('hex of zeros', 'sha256=' + '0'.repeat(64));
	withSig('base64 digest', 'sha256=' + Buffer.from(hex, 'hex').toString('base64'));
	withSig('space inside', 'sha256= ' + hex);
	withSig('two values comma-joined', `${good},${good}`);
	withSig('valid then garbage', `${good} x`);
	withSig('empty value', '');
	// wrong secrets
	withSig('wrong secret', sign(body, 'not-the-app-secret'));
	withSig('secret with one char changed', sign(body, secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a')));
	withSig('secret uppercased', sign(body, secret.toUpperCase()));
	withSig('empty secret', 'sha256=' + createHmac('sha256', '').update(body).digest('hex'));
	withSig('sha1 HMAC in sha256 header', 'sha256=' + createHmac('sha1', secret).update(body).digest('hex').padEnd(64, '0'));
	// replay: a valid signature of another delivery with this body
	withSig('replayed signature of another delivery', sign(other, secret));
	withSig('replayed signature, other body', good, other);
	// header name / presence
	out.push({ label: 'no signature header', body, headers: [json] });
	out.push({ label: 'only legacy X-Hub-Signature (sha1)', body, headers: [json, ['X-Hub-Signature', 'sha1=' + createHmac('sha1', secret).update(body).digest('hex')]] });
	out.push({ label: 'signature in a different header', body, headers: [json, ['X-Signature-256', good]] });
	out.push({ label: 'duplicate header (valid + wrong)', body, headers: [json, ['X-Hub-Signature-256', good], ['X-Hub-Signature-256', sign(body, 'x')]] });
	out.push({ label: 'duplicate header (wrong + valid)', body, headers: [json, ['X-Hub-Signature-256', sign(body, 'x')], ['X-Hub-Signature-256', good]] });
	out.push({ label: 'duplicate header (valid twice)', body, headers: [json, ['X-Hub-Signature-256', good], ['X-Hub-Signature-256', good]] });
	return out;
}

describe('forgery: mutated deliveries → 401, nothing run, nothing archived', () => {
	const store = new SuiteStore();
	const capture = new OutputCapture();
	let pipeline: Pipeline;
	let bucket: string;
	let tried = 0;
	let passed = 0;

	beforeAll(async () => {
		bucket = await store.bucket({ objectLock: true });
		pipeline = await startPipeline({ bucket });
		capture.install();
	});

	afterAll(async () => {
		capture.uninstall();
		await pipeline?.stop();
		const leaks = findSecrets(capture.chunks, pipeline.secrets);
		const atRest = await store.scan(fixtureMarkers());
		const refusals = capture.chunks.filter((c) => c.includes('delivery refused (401)')).length;
		record({ category: 'forgery', tried, passed, lost: 0, leaked: leaks.length + atRest.length, note: `${capture.chunks.length} log chunks scanned, ${refusals} refusal logs` });
		const problems = await store.cleanup();
		expect(problems).toEqual([]);
		expect(refusals).toBeGreaterThan(0); // the trigger's logs were captured: the scan is not vacuous
		expect(leaks).toEqual([]);
		expect(atRest).toEqual([]);
	});

	it.each(fixtures.map((f, i) => [f.name, i] as const))('%s', async (_name, index) => {
		const { body } = fixtures[index];
		const other = fixtures[(index + 1) % fixtures.length].body;
		const before = await listVersions(store.client, bucket);
		const runsBefore = pipeline.n8n.exchanges.filter((e) => e.run).length;
		const failures: string[] = [];
		for (const m of mutations(body, pipeline.appSecret, other, 1000 + index)) {
			tried += 1;
			const response = await rawPost(pipeline.n8n.webhookUrl(), m.headers, m.body);
			await pipeline.n8n.idle();
			if (response.status === 401) passed += 1;
			else failures.push(`${m.label}: HTTP ${response.status}`);
		}
		expect(failures).toEqual([]);
		expect(pipeline.n8n.exchanges.filter((e) => e.run).length).toBe(runsBefore);
		expect(await listVersions(store.client, bucket)).toEqual(before);
	});

	it('encodings of the genuine HMAC (not forgeries) are accepted once and archived once', async () => {
		// Header names are case-insensitive (RFC 9110 §5.1), blanks around a field value are not part
		// of it (§5.5), and uppercase hex encodes the same digest: none of these changes what was signed.
		const { body } = fixtures.find((f) => f.name === 'inbound-text')!;
		const good = sign(body, pipeline.appSecret);
		const upperHex = 'sha256=' + good.slice(7).toUpperCase();
		const results: Record<string, number> = {};
		for (const [label, headers] of [
			['genuine', [json, ['X-Hub-Signature-256', good]]],
			['header name uppercase', [json, ['X-HUB-SIGNATURE-256', good]]],
			['blanks around the value', [json, ['X-Hub-Signature-256', `  ${good}\t`]]],
			['uppercase hex', [json, ['X-Hub-Signature-256', upperHex]]],
		] as Array<[string, Array<[string, string]>]>) {
			results[label] = (await rawPost(pipeline.n8n.webhookUrl(), headers, body)).status;
			await pipeline.n8n.idle();
		}
		record({ category: 'forgery (same-HMAC encodings)', tried: 4, passed: 4, lost: 0, leaked: 0, note: `statuses ${JSON.stringify(results)}` });
		expect(results).toEqual({ genuine: 200, 'header name uppercase': 200, 'blanks around the value': 200, 'uppercase hex': 200 });
		const versions = (await listVersions(store.client, bucket)).filter((v) => !v.key.includes('/_identities/'));
		expect(versions).toHaveLength(1); // one record (its identity links apart), written once, the three repeats are duplicates
	});
});
