import { OsteoError } from '../gpu/errors';
import { UsageError, type Command } from './command';
import { demoCommand } from './commands/demo';
import { deviceCommand } from './commands/device';
import { benchCommand } from './commands/bench';
import { profileCommand } from './commands/profile';
import { trainCommand } from './commands/train';
import { evalCommand } from './commands/eval';
import { predictCommand } from './commands/predict';
import { experimentCommand } from './commands/experiment';
import { memoryCommand } from './commands/memory';
import { tuneCommand } from './commands/tune';
import { weightsCommand } from './commands/weights';

const COMMANDS: Command[] = [demoCommand, deviceCommand, memoryCommand, weightsCommand, trainCommand, evalCommand, predictCommand, experimentCommand, benchCommand, profileCommand, tuneCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'osteo — WebGPU U-Net++/VGG19 for anatomical landmarks in X-rays',
    '',
    'usage: osteo <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'osteo <command> --help shows the command\'s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`osteo: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`osteo ${name}: ${err.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    if (err instanceof OsteoError || err.name.endsWith('Error')) {
      console.error(`osteo ${name}: ${err.name}: ${err.message}`);
      if (process.env.OSTEO_DEBUG) console.error(err.stack);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
