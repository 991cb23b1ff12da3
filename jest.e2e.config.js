/**
 * Jest for the real-n8n end-to-end suite (test/e2e): run through `npm run test:e2e`
 * (bash scripts/n8n-e2e.sh test), which installs n8n, starts the local store and packs the pack first.
 * One file at a time: each suite boots its own n8n process.
 */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.test.ts'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
	},
	testTimeout: 300000,
	maxWorkers: 1,
};
