/**
 * The reliability and security suite (test/reliability/README.md): `npx jest -c test/reliability/jest.config.js`.
 * Needs the local store (scripts/s3-local.sh), gpg. SOAK=1 runs the longer variants.
 */
module.exports = {
	rootDir: '../..',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/reliability'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	testTimeout: 300000,
	maxWorkers: 2,
	globalSetup: '<rootDir>/test/reliability/helpers/global-setup.js',
	globalTeardown: '<rootDir>/test/reliability/helpers/global-teardown.js',
};
