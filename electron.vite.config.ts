import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'

const root = fileURLToPath(new URL('.', import.meta.url))
const at = (path: string) => resolve(root, path)

/**
 * Three builds (anchors-aesthetics.md §4.9, feasibility.md §6). Our folders are not electron-vite's default
 * src/main, src/preload, src/renderer, so every entry is explicit. Vite 8 names the bundler options
 * `rolldownOptions` (`rollupOptions` is its deprecated alias, which electron-vite's presets do not read).
 */
export default defineConfig({
  // out/main/index.js, ESM (package.json "type": "module"); dependencies stay external imports.
  main: {
    build: {
      outDir: at('out/main'),
      lib: { entry: at('src-main/index.ts') },
    },
  },
  // out/preload/index.cjs: a sandboxed preload cannot load ES modules, so force one CommonJS file.
  preload: {
    build: {
      outDir: at('out/preload'),
      lib: { entry: at('src-preload/index.ts'), formats: ['cjs'] },
      rolldownOptions: { output: { format: 'cjs', entryFileNames: 'index.cjs' } },
    },
  },
  // out/renderer: loaded from app://outpost/ by Electron and served over HTTP by headless mode, hence relative URLs.
  renderer: {
    root: at('src-renderer'),
    base: './',
    plugins: [react()],
    build: {
      outDir: at('out/renderer'),
      emptyOutDir: true,
      // electron-vite leaves renderer output unminified by default; minified it is ~2.4x smaller (828 kB -> 351 kB).
      minify: true,
      rolldownOptions: { input: at('src-renderer/index.html') },
    },
  },
})
