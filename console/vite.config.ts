// The console's front end: Preact + uPlot, built by `npm install` (the `prepare` script) into
// console/dist, which the console service serves. No inline scripts or styles (the server's
// Content-Security-Policy allows only its own files).
import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // one copy of Preact, resolved from this package (hooks need the same one as render)
  resolve: { dedupe: ['preact'] },
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1000,
  },
})
