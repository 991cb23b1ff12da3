/** What each benchmark states about the machine it ran on: cores, memory, load, tool versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function firstLine(cmd: string, args: string[]): string {
	try {
		return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0].trim();
	} catch {
		return 'not installed';
	}
}

function packageVersion(name: string): string {
	try {
		const file = path.join(__dirname, '..', '..', 'node_modules', name, 'package.json');
		return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
	} catch {
		return '?';
	}
}

export interface MachineInfo {
	cpu: string;
	cores: number;
	memoryGiB: number;
	loadAverage: string;
	node: string;
	openssl: string;
	openpgp: string;
	awsSdk: string;
	gpg: string;
	libgcrypt: string;
	sq: string;
	rclone: string;
	ceph: string;
}

let cached: MachineInfo | undefined;

export function machineInfo(): MachineInfo {
	if (cached) return cached;
	const gpgLines = (() => {
		try {
			return execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n');
		} catch {
			return ['not installed'];
		}
	})();
	cached = {
		cpu: os.cpus()[0]?.model ?? '?',
		cores: os.cpus().length,
		memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
		loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
		node: process.version,
		openssl: process.versions.openssl,
		openpgp: packageVersion('openpgp'),
		awsSdk: packageVersion('@aws-sdk/client-s3'),
		gpg: gpgLines[0].replace(/^gpg \(GnuPG\) /, ''),
		libgcrypt: (gpgLines.find((l) => l.startsWith('libgcrypt')) ?? '').replace('libgcrypt ', ''),
		sq: firstLine('sq', ['--version']).replace(/^sq /, ''),
		rclone: firstLine('rclone', ['version']).replace(/^rclone /, ''),
		ceph: firstLine('radosgw', ['--version']).replace(/^ceph version /, '').replace(/ \(.*$/, ''),
	};
	return cached;
}

/** One line for a table caption. */
export function machineLine(which: Array<keyof MachineInfo> = ['node', 'openpgp']): string {
	const m = machineInfo();
	const parts = [`${m.cores} cores (${m.cpu})`, `${m.memoryGiB} GiB RAM`, `load ${m.loadAverage} at start`];
	const names: Record<string, string> = {
		node: 'Node',
		openssl: 'OpenSSL',
		openpgp: 'openpgp',
		awsSdk: '@aws-sdk/client-s3',
		gpg: 'gpg',
		libgcrypt: 'libgcrypt',
		sq: 'sq',
		rclone: 'rclone',
		ceph: 'Ceph RGW',
	};
	for (const key of which) parts.push(`${names[key] ?? key} ${m[key]}`);
	return parts.join(', ');
}
