// Builds the UI into ui/dist, which the Tauri app embeds (src-tauri/tauri.conf.json → frontendDist).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  base: './',
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2021',
    chunkSizeWarningLimit: 2000,
  },
})
