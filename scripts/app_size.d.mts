export interface AppFiles { files: string[]; raw: number; gzip: number }
export function measureApp(dir: string): { core: AppFiles; engineWorker: AppFiles; lazy: AppFiles; serviceWorker: AppFiles };
