// Self-hosted configuration: the pack has runtime dependencies (openpgp, the AWS SDK, luxon),
// which n8n Cloud does not allow, so the Cloud-only rules are off (see README, "Self-hosted only").
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	// lib/ has no n8n import: engines throw their own error classes; the nodes map them to NodeOperationError / NodeApiError.
	{
		files: ['lib/**'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{ ignores: ['test/**', 'bench/**', 'scripts/**', 'dist/**', 'jest.config.js'] },
];
