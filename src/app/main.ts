/** Entry of the web app bundle (dist/app/app.js): starts the app once the page is parsed. */
import { App } from './app';

const app = new App();
app.start().catch((e: unknown) => app.fail(e, 'start'));
