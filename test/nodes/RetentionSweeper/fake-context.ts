/**
 * A minimal IExecuteFunctions for running the Retention Sweeper node in tests: parameters per item
 * (dotted names such as `classes.values` resolved), the s3ArchiveApi and openPgpPrivateKeyApi credentials.
 */
import type { ICredentialDataDecryptedObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

export interface FakeOptions {
	items?: INodeExecutionData[];
	/** Parameters, or one parameter set per item. */
	parameters: Record<string, unknown> | Array<Record<string, unknown>>;
	credentials: Record<string, ICredentialDataDecryptedObject>;
	continueOnFail?: boolean;
}

export const node: INode = {
	id: 'node-1',
	name: 'Retention Sweeper',
	type: 'n8n-nodes-chat-archive.retentionSweeper',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

function lookup(parameters: Record<string, unknown>, name: string): unknown {
	let value: unknown = parameters;
	for (const part of name.split('.')) {
		if (value === null || typeof value !== 'object' || !(part in (value as object))) return undefined;
		value = (value as Record<string, unknown>)[part];
	}
	return value;
}

export function fakeExecuteFunctions(options: FakeOptions): IExecuteFunctions & { credentialReads: string[] } {
	const items = options.items ?? [{ json: {} }];
	const credentialReads: string[] = [];
	const fake = {
		credentialReads,
		getInputData: () => items,
		getNode: () => node,
		continueOnFail: () => options.continueOnFail === true,
		getExecutionCancelSignal: () => undefined,
		getCredentials: async (name: string) => {
			credentialReads.push(name);
			const credentials = options.credentials[name];
			if (!credentials) throw new Error(`Node does not have credentials of type ${name}`);
			return credentials;
		},
		getNodeParameter: (name: string, i: number, fallback?: unknown) => {
			const parameters = Array.isArray(options.parameters) ? options.parameters[i] : options.parameters;
			const value = lookup(parameters, name);
			return value === undefined ? fallback : value;
		},
	};
	return fake as unknown as IExecuteFunctions & { credentialReads: string[] };
}
