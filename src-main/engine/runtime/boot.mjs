// Worker-thread bootstrap for TypeScript entry points when running from source: registers tsx's
// loader, then imports the real entry named in workerData.__entry. Built (.js) entries skip this.
import { workerData } from 'node:worker_threads';
const { register } = await import('tsx/esm/api');
register();
await import(workerData.__entry);
