#!/usr/bin/env node
// `npm run bench` launcher. Node 24 runs the TypeScript source directly (type stripping); no build step.
await import('./run.ts')
