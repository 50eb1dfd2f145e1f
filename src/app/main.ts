/** Entry of the web app bundle (dist/app/app.js): starts the app once the page is parsed. */
import { App } from './app';

const app = new App();
app.start().catch((e: unknown) => app.fail(e, 'start'));

// offline and installable: the service worker keeps the app and the last model (not on file://)
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('sw.js').catch((e: unknown) => console.warn('osteo: no offline copy (service worker not registered)', e));
}
