/**
 * E2E helper: a real n8n 2.x process (started and stopped by `scripts/n8n-e2e.sh` through pid files;
 * in queue mode with its redis and PostgreSQL),
 * owner + API key without the UI, REST and public-API calls, and raw scans of n8n's files.
 *
 * Recipe: /work/shared/notes/n8n-headless-e2e.md. Everything runs on 127.0.0.1.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
export const E2E_SCRIPT = process.env.N8N_E2E_SCRIPT || path.join(REPO, 'scripts', 'n8n-e2e.sh');
export const E2E_DIR =
	process.env.E2E_DIR || path.join(process.env.TMPDIR || '/tmp', 'chat-archive-n8n-e2e');

/** Node types of the pack as n8n names them when loaded from the community packages folder. */
export const PACK = 'n8n-nodes-chat-archive';

/** A fresh n8n user folder under $E2E_DIR/runs (emptied by `n8n-e2e.sh test` at its start; kept after for debugging). */
export function makeUserFolder(label: string): string {
	mkdirSync(path.join(E2E_DIR, 'runs'), { recursive: true });
	return mkdtempSync(path.join(E2E_DIR, 'runs', `${label}-`));
}

export interface N8nInstance {
	userFolder: string;
	port: number;
	baseUrl: string;
	/** `<user folder>/.n8n/database.sqlite` */
	dbPath: string;
	/** Milliseconds from `start` until /healthz/readiness answered 200. */
	bootMs: number;
}

/** Start n8n on `userFolder` (pack installed from the tarball), wait for readiness. */
export function startN8n(
	userFolder: string,
	env: Record<string, string> = {},
	port = 5678,
): N8nInstance {
	const t0 = Date.now();
	execFileSync('bash', [E2E_SCRIPT, 'start', userFolder], {
		env: { ...process.env, N8N_PORT: String(port), ...env },
		stdio: ['ignore', 'ignore', 'inherit'],
		timeout: 180_000,
	});
	return {
		userFolder,
		port,
		baseUrl: `http://127.0.0.1:${port}`,
		dbPath: path.join(userFolder, '.n8n', 'database.sqlite'),
		bootMs: Date.now() - t0,
	};
}

/**
 * Start one n8n process of a queue-mode set without blocking (`role`: main, webhook, worker-<n>), so
 * that several boot at once. `port` is the process's HTTP port (workers: QUEUE_HEALTH_CHECK_PORT).
 */
export function startRole(
	userFolder: string,
	role: string,
	env: Record<string, string>,
): Promise<number> {
	const t0 = Date.now();
	return new Promise((resolve, reject) => {
		execFile(
			'bash',
			[E2E_SCRIPT, 'start', userFolder],
			{ env: { ...process.env, E2E_ROLE: role, ...env }, timeout: 240_000 },
			(error, _stdout, stderr) => {
				process.stderr.write(stderr);
				if (error) reject(new Error(`starting n8n ${role} failed: ${error.message}`));
				else resolve(Date.now() - t0);
			},
		);
	});
}

/** Start a throw-away redis-server on 127.0.0.1:`port` (pid file in `userFolder`). */
export function startRedis(userFolder: string, port: number): void {
	execFileSync('bash', [E2E_SCRIPT, 'redis-start', userFolder, String(port)], {
		stdio: ['ignore', 'ignore', 'inherit'],
		timeout: 120_000,
	});
}

/**
 * Start a throw-away PostgreSQL cluster in `folder` on 127.0.0.1:`port` (`n8n-e2e.sh pg-start`: Debian's
 * postgresql, a database and a user for n8n); returns the DB_TYPE / DB_POSTGRESDB_* settings for n8n.
 * `stopN8n(folder)` stops it.
 */
export function startPostgres(folder: string, port: number): Record<string, string> {
	const out = execFileSync('bash', [E2E_SCRIPT, 'pg-start', folder, String(port)], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		timeout: 300_000,
	});
	const env: Record<string, string> = {};
	for (const line of out.split('\n').filter((l) => l.startsWith('export ')))
		for (const pair of line.slice('export '.length).trim().split(/\s+/)) {
			const at = pair.indexOf('=');
			env[pair.slice(0, at)] = pair.slice(at + 1);
		}
	if (env.DB_TYPE !== 'postgresdb') throw new Error('pg-start printed no database settings');
	return env;
}

/** Stop the n8n processes of `userFolder` (or one `role`), process groups by pid file. Never throws. */
export function stopN8n(userFolder: string, role?: string): void {
	try {
		execFileSync('bash', [E2E_SCRIPT, 'stop', userFolder, ...(role ? [role] : [])], {
			stdio: ['ignore', 'ignore', 'inherit'],
			timeout: 60_000,
		});
	} catch (error) {
		console.error(`stopping n8n of ${userFolder} failed: ${error}`);
	}
}

export interface Session {
	email: string;
	password: string;
	cookie: string;
	apiKey: string;
}

async function json(response: Response, what: string): Promise<any> {
	const text = await response.text();
	if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${text.slice(0, 500)}`);
	return text ? JSON.parse(text) : undefined;
}

/** Owner via `POST /rest/owner/setup`, cookie via `/rest/login`, API key with every scope. */
export async function setupOwner(
	baseUrl: string,
	{ firstName = 'E2E', label = 'e2e' }: { firstName?: string; label?: string } = {},
): Promise<Session> {
	const email = 'owner@example.invalid';
	// n8n asks for 8+ characters with a number and an uppercase letter
	const password = `${firstName}-${randomBytes(9).toString('base64url')}1A`;
	await json(
		await fetch(`${baseUrl}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email, firstName, lastName: 'Owner', password }),
		}),
		'owner setup',
	);
	const cookie = await login(baseUrl, email, password);
	const scopes = (
		await json(await fetch(`${baseUrl}/rest/api-keys/scopes`, { headers: { cookie } }), 'scopes')
	).data;
	const key = await json(
		await fetch(`${baseUrl}/rest/api-keys`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', cookie },
			body: JSON.stringify({ label, scopes, expiresAt: null }),
		}),
		'api key',
	);
	return { email, password, cookie, apiKey: key.data.rawApiKey };
}

/** `POST /rest/login` → the `n8n-auth` cookie (as a `cookie` header value). */
export async function login(baseUrl: string, email: string, password: string): Promise<string> {
	const response = await fetch(`${baseUrl}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: email, password }),
	});
	await json(response, 'login');
	const auth = response.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
	if (!auth) throw new Error('login: no n8n-auth cookie');
	return auth.split(';')[0];
}

/** Public API call (`/api/v1`, `X-N8N-API-KEY`); throws on non-2xx. */
export async function api(
	baseUrl: string,
	apiKey: string,
	method: string,
	route: string,
	body?: unknown,
): Promise<any> {
	return json(
		await fetch(`${baseUrl}/api/v1${route}`, {
			method,
			headers: {
				'x-n8n-api-key': apiKey,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		}),
		`${method} /api/v1${route}`,
	);
}

/** Cookie-authenticated internal REST call (`/rest`); throws on non-2xx. */
export async function rest(
	baseUrl: string,
	cookie: string,
	method: string,
	route: string,
	body?: unknown,
): Promise<any> {
	return json(
		await fetch(`${baseUrl}/rest${route}`, {
			method,
			headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
		}),
		`${method} /rest${route}`,
	);
}

/** A workflow as a template file holds it (workflows/*.json). */
export interface WorkflowJson {
	name: string;
	nodes: any[];
	connections: unknown;
	settings?: Record<string, unknown>;
}

/**
 * Creates `workflow` through the public API (inactive) with each node's credential reference of a
 * type replaced by `credentialFor(type, reference)`; returns the workflow's id.
 */
export async function importWorkflow(
	baseUrl: string,
	apiKey: string,
	workflow: WorkflowJson,
	credentialFor: (type: string, reference: { id?: string; name: string }) => { id: string; name: string },
): Promise<string> {
	const nodes = workflow.nodes.map((node) => {
		const copy = structuredClone(node);
		for (const [type, reference] of Object.entries<{ id?: string; name: string }>(copy.credentials ?? {}))
			copy.credentials[type] = credentialFor(type, reference);
		return copy;
	});
	const created = await api(baseUrl, apiKey, 'POST', '/workflows', {
		name: workflow.name,
		nodes,
		connections: workflow.connections,
		settings: workflow.settings ?? {},
	});
	return String(created.id);
}

/**
 * The editor's "Execute workflow" from `trigger` (`POST /rest/workflows/:id/run` with
 * `triggerToStartFrom`), then the finished execution read back through the public API with its data
 * (the workflow must save manual executions).
 */
export async function runFromTrigger(
	baseUrl: string,
	session: Pick<Session, 'cookie' | 'apiKey'>,
	workflowId: string,
	trigger: string,
	timeoutMs = 120_000,
): Promise<{ execution: any; ms: number }> {
	const t0 = Date.now();
	const started = await rest(baseUrl, session.cookie, 'POST', `/workflows/${workflowId}/run`, {
		triggerToStartFrom: { name: trigger },
	});
	const executionId = String(started?.data?.executionId ?? '');
	if (!executionId) throw new Error(`n8n started no execution of workflow ${workflowId}`);
	for (;;) {
		const listed = await api(baseUrl, session.apiKey, 'GET', `/executions?workflowId=${workflowId}&includeData=true`);
		const execution = (listed.data as any[]).find((e) => String(e.id) === executionId);
		if (execution?.finished || (execution?.status && !['new', 'running', 'waiting'].includes(execution.status))) {
			return { execution, ms: Date.now() - t0 };
		}
		if (Date.now() - t0 > timeoutMs) throw new Error(`execution ${executionId} did not finish within ${timeoutMs / 1000} s`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** Poll `url` (a request built by `probe`) until it stops answering 404 (webhook registration is async). */
export async function waitUntilNot404(
	probe: () => Promise<Response>,
	timeoutMs = 15_000,
): Promise<number> {
	const t0 = Date.now();
	for (;;) {
		const response = await probe();
		await response.arrayBuffer();
		if (response.status !== 404) return Date.now() - t0;
		if (Date.now() - t0 > timeoutMs) throw new Error('webhook still 404 after activation');
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** Read-only SQL on n8n's SQLite file through Node's built-in `node:sqlite` (a child process). */
export function sql(dbPath: string, query: string): Array<Record<string, unknown>> {
	const out = execFileSync(
		process.execPath,
		[
			'--no-warnings',
			'-e',
			`const {DatabaseSync}=require('node:sqlite');const db=new DatabaseSync(process.argv[1],{readOnly:true});` +
				`process.stdout.write(JSON.stringify(db.prepare(process.argv[2]).all()));db.close();`,
			dbPath,
			query,
		],
		{ encoding: 'utf8' },
	);
	return JSON.parse(out);
}

/** Occurrences of each marker (UTF-8 bytes) in one file. */
export function countInFile(file: string, markers: string[]): Record<string, number> {
	const bytes = readFileSync(file);
	const result: Record<string, number> = {};
	for (const marker of markers) {
		const needle = Buffer.from(marker, 'utf8');
		let count = 0;
		for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) count++;
		result[marker] = count;
	}
	return result;
}

export interface ScanResult {
	/** file (relative to `.n8n`) → marker → hits; only files with hits. */
	hits: Record<string, Record<string, number>>;
	total: number;
	filesScanned: number;
}

/**
 * Raw byte scan of n8n's data folder (`<user folder>/.n8n`: database.sqlite, -wal, -shm, -journal,
 * binaryData/, logs…), except `nodes/` (the installed pack code) — for plaintext markers.
 */
export function scanDataFolder(userFolder: string, markers: string[]): ScanResult {
	const root = path.join(userFolder, '.n8n');
	const result: ScanResult = { hits: {}, total: 0, filesScanned: 0 };
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir)) {
			const full = path.join(dir, entry);
			const rel = path.relative(root, full);
			if (rel === 'nodes') continue;
			const st = statSync(full);
			if (st.isDirectory()) walk(full);
			else if (st.isFile()) {
				result.filesScanned++;
				const counts = countInFile(full, markers);
				const sum = Object.values(counts).reduce((a, b) => a + b, 0);
				if (sum > 0) {
					result.hits[rel] = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
					result.total += sum;
				}
			}
		}
	};
	if (existsSync(root)) walk(root);
	return result;
}
