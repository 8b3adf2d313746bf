// Vite build of the React renderer: src-renderer/ -> dist/renderer/, relative asset paths so the same
// bundle is served by the HTTP server at / and by Electron's app:// protocol. No CDN, no remote
// assets: everything the page loads comes from its own origin (the CSP in index.html enforces it).
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./src-renderer', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/renderer', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: { host: '127.0.0.1', strictPort: true },
  logLevel: 'warn',
});
