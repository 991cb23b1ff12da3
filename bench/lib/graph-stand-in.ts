/**
 * A local stand-in for graph.facebook.com, reached through n8n's own outbound proxy support, so that
 * n8n's built-in WhatsApp Trigger can be activated without Meta: the trigger registers its webhook
 * with the Graph API on activation (GET/POST/DELETE /v19.0/<app id>/subscriptions after an app token
 * from /v19.0/oauth/access_token; n8n-nodes-base WhatsApp/GenericFunctions.js, hard-coded
 * https://graph.facebook.com).
 *
 * n8n 2.x sends node HTTP requests through HTTPS_PROXY (proxy-from-env, @n8n/backend-network), as a
 * CONNECT tunnel. This proxy accepts CONNECT only for graph.facebook.com:443 and ends the TLS itself
 * with a certificate from a throw-away CA (openssl), which n8n trusts through NODE_EXTRA_CA_CERTS.
 * Give n8n `env` and NO_PROXY keeps every other request (S3 store, webhooks) direct.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

const HOST = 'graph.facebook.com';

export interface GraphStandIn {
	/** Environment for the n8n process (proxy, NO_PROXY, extra CA). */
	env: Record<string, string>;
	/** Graph API calls answered, e.g. `POST /v19.0/oauth/access_token`. */
	calls: string[];
	close(): Promise<void>;
}

function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
	const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
	openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=bench stand-in CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
	openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${HOST}`, '-keyout', 'host.key', '-out', 'host.csr']);
	writeFileSync(path.join(dir, 'ext'), `subjectAltName=DNS:${HOST}\n`);
	openssl(['x509', '-req', '-in', 'host.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext', '-out', 'host.pem']);
	return {
		ca: path.join(dir, 'ca.pem'),
		key: readFileSync(path.join(dir, 'host.key'), 'utf8'),
		cert: readFileSync(path.join(dir, 'host.pem'), 'utf8'),
	};
}

export async function startGraphStandIn(port: number): Promise<GraphStandIn> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-graph-'));
	const { ca, key, cert } = makeCertificates(dir);
	const calls: string[] = [];
	const api = https.createServer({ key, cert }, (req, res) => {
		const route = (req.url ?? '').split('?')[0];
		calls.push(`${req.method} ${route}`);
		req.resume();
		res.setHeader('content-type', 'application/json');
		if (route.endsWith('/oauth/access_token')) res.end(JSON.stringify({ access_token: 'stand-in', token_type: 'bearer' }));
		else if (/\/subscriptions$/.test(route) && req.method === 'GET') res.end(JSON.stringify({ data: [] }));
		else if (/\/subscriptions$/.test(route)) res.end(JSON.stringify({ success: true }));
		else {
			res.statusCode = 404;
			res.end(JSON.stringify({ error: { message: `the stand-in does not know ${req.method} ${route}` } }));
		}
	});
	const proxy = http.createServer((_req, res) => {
		res.statusCode = 405;
		res.end();
	});
	proxy.on('connect', (req, socket) => {
		if (req.url !== `${HOST}:443`) {
			socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
			return;
		}
		socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
		api.emit('connection', socket);
	});
	await new Promise<void>((resolve, reject) => {
		proxy.once('error', reject);
		proxy.listen(port, '127.0.0.1', () => resolve());
	});
	return {
		env: {
			HTTPS_PROXY: `http://127.0.0.1:${port}`,
			NO_PROXY: '127.0.0.1,localhost',
			NODE_EXTRA_CA_CERTS: ca,
		},
		calls,
		close: async () => {
			proxy.closeAllConnections();
			api.closeAllConnections();
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
