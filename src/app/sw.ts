/**
 * The app's service worker (dist/app/sw.js): the page opens and predicts with the network gone.
 * On install it stores the whole built app (the file list is written in by scripts/build.mjs, so
 * a new build is a new worker); every same-origin GET then goes to the network first — so a
 * rebuilt app or another default model is seen at once — and a copy of the answer is kept, the
 * last checkpoint fetched included (one at a time); when the network fails, the kept copy answers.
 * The model in use is also kept in IndexedDB by the page itself (persist.ts).
 */

/** The few service-worker types used here (the DOM lib has no ServiceWorkerGlobalScope). */
interface ExtendableEvent extends Event { waitUntil(p: Promise<unknown>): void }
interface FetchEvent extends ExtendableEvent { request: Request; respondWith(r: Promise<Response>): void }
interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
}
const sw = self as unknown as WorkerScope;

/** Every file of the build, relative to this worker (replaced by scripts/build.mjs). */
const FILES = '__OSTEO_APP_FILES__' as unknown as string[];
const VERSION = FILES.join(',').length.toString(36) + '-' + FILES.filter((f) => /^chunk-/.test(f)).join('').slice(-24);
const CACHE = `osteo-app-${VERSION}`;
const isModel = (url: string): boolean => /\.safetensors([?#].*)?$/i.test(url);

sw.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(['./', ...FILES.filter((f) => f !== 'sw.js')]);
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    // the previous build's files go; its model copy moves over, so an update keeps working offline
    const current = await caches.open(CACHE);
    for (const name of await caches.keys()) {
      if (name === CACHE || !name.startsWith('osteo-app-')) continue;
      const old = await caches.open(name);
      for (const req of await old.keys()) if (isModel(req.url)) await current.put(req, (await old.match(req))!);
      await caches.delete(name);
    }
    await sw.clients.claim();
  })());
});

async function networkFirst(req: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    if (res.ok && res.type === 'basic') {
      const copy = res.clone();
      if (isModel(req.url)) for (const k of await cache.keys()) if (isModel(k.url) && k.url !== req.url) await cache.delete(k);
      await cache.put(req, copy);
    }
    return res;
  } catch (e) {
    const kept = (await cache.match(req)) ?? (req.mode === 'navigate' ? await cache.match('./', { ignoreSearch: true }) : undefined);
    if (kept) return kept;
    throw e;
  }
}

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== sw.location.origin) return;
  e.respondWith(networkFirst(req));
});
