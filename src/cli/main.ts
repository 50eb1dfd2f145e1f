import { runCli } from './run';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`osteo: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.OSTEO_DEBUG && e instanceof Error) console.error(e.stack);
    process.exit(1);
  },
);
