#!/usr/bin/env node
// Launcher for the device agent. Node 24 runs the TypeScript source directly (type stripping); no build step.
import '../agent/src/main.ts'
