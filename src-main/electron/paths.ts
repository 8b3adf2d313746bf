// Where the desktop app finds its parts: the built renderer and preload inside the app folder (or
// asar), the shipped models (extra resources when packaged, models/ of the checkout in development)
// and the user's data folder.
import { join } from 'node:path';

export interface AppPaths {
  renderer: string;
  preload: string;
  models: string;
  data: string;
}

/** appPath: app.getAppPath(); resources: process.resourcesPath; packaged: app.isPackaged. */
export function appPaths(appPath: string, resources: string, packaged: boolean, userData: string): AppPaths {
  return {
    renderer: join(appPath, 'dist', 'renderer'),
    preload: join(appPath, 'dist', 'electron', 'preload.cjs'),
    models: packaged ? join(resources, 'models') : join(appPath, 'models'),
    data: process.env.TESSERA_DATA_DIR ?? join(userData, 'data'),
  };
}
