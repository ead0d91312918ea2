#!/usr/bin/env node
// The `outpost` command. The CLI is TypeScript that Node runs directly (type stripping), which needs Node 22.18+;
// check first, so an older `node` on PATH gets one clear line instead of a syntax error.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6)) {
  process.stderr.write(`outpost: error [unavailable] Outpost needs Node 22.18 or newer, this is ${process.versions.node}; run it through npm (npm start, npx outpost) to use the project's Node\n`)
  process.exit(1)
}
await import('../src-main/cli/main.ts')
