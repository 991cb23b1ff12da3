import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/** Parameter shapes the pack's nodes share (n8n INodeProperties). */

/**
 * The Operation parameter of one resource (n8n's resource/operation pattern): an options parameter
 * named `operation`, shown only for `resource`, its choices sorted by name as n8n's lint asks.
 */
export function operationParameter(
	resource: string,
	options: INodePropertyOptions[],
	defaultOperation: string,
): INodeProperties {
	return {
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: [resource] } },
		options: [...options].sort((a, b) => a.name.localeCompare(b.name)),
		default: defaultOperation,
	};
}

/** The usual Options parameter: a collection of optional settings named `options`. */
export function optionsCollection(options: INodeProperties[]): INodeProperties {
	return { displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add option', default: {}, options };
}
