/**
 * The `osteo` command line: picks the command, answers --help / --version, and reports errors as
 * `osteo <command>: <message>` (exit 2 for usage errors, 1 for the rest; a stack with OSTEO_DEBUG=1).
 */
import { didYouMean } from '../data/suggest';
import { ConfigError } from '../train/config';
import { UsageError, type Command } from './command';
import { benchCommand } from './commands/bench';
import { calibrateCommand } from './commands/calibrate';
import { demoCommand } from './commands/demo';
import { deviceCommand } from './commands/device';
import { evalCommand } from './commands/eval';
import { experimentCommand } from './commands/experiment';
import { exportCommand } from './commands/export';
import { memoryCommand } from './commands/memory';
import { predictCommand } from './commands/predict';
import { profileCommand } from './commands/profile';
import { reportCommand } from './commands/report';
import { serveCommand } from './commands/serve';
import { trainCommand } from './commands/train';
import { tuneCommand } from './commands/tune';
import { weightsCommand } from './commands/weights';
import { commandHelp, mainHelp } from './help';

export const COMMANDS: readonly Command[] = [
  demoCommand, deviceCommand, memoryCommand, weightsCommand, trainCommand, evalCommand, calibrateCommand, reportCommand, predictCommand, exportCommand, experimentCommand, benchCommand, profileCommand, tuneCommand, serveCommand,
];

import { VERSION } from './version';

export { VERSION };

function unknownCommand(name: string): string {
  const names = COMMANDS.map((c) => c.name);
  return `osteo: unknown command '${name}'${didYouMean(name, names)}; commands: ${names.join(', ')} (osteo --help describes them)`;
}

/** Bad command lines, and training settings the application layer refuses (they name the flag). */
const isUsageError = (e: unknown): boolean => e instanceof UsageError || e instanceof ConfigError || String((e as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');
const debug = (): boolean => !!process.env.OSTEO_DEBUG && process.env.OSTEO_DEBUG !== '0';

/** What to print for a failed command: the message only (no class name), and the stack on request. */
export function reportError(command: string, e: unknown): number {
  const message = (e instanceof Error ? e.message : String(e)) || 'failed without a message (OSTEO_DEBUG=1 prints the stack)';
  if (isUsageError(e)) {
    console.error(`osteo ${command}: ${message}\nosteo ${command} --help lists the options, with defaults and examples`);
    return 2;
  }
  console.error(`osteo ${command}: ${message}`);
  if (debug() && e instanceof Error && e.stack) console.error(e.stack);
  return 1;
}

/** Runs one command line; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.log(mainHelp(COMMANDS, VERSION));
    return 2;
  }
  if (name === '--help' || name === '-h') {
    console.log(mainHelp(COMMANDS, VERSION));
    return 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(VERSION);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      console.log(mainHelp(COMMANDS, VERSION));
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.name === topic);
    if (!cmd) {
      console.error(unknownCommand(topic));
      return 2;
    }
    console.log(commandHelp(cmd));
    return 0;
  }
  if (name.startsWith('-')) {
    console.error(`osteo: unknown option '${name}'${didYouMean(name.replace(/^--?/, ''), ['help', 'version'], (n) => `--${n}`)}; usage: osteo <command> [options] (osteo --help lists the commands)`);
    return 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(unknownCommand(name));
    return 2;
  }
  const end = rest.indexOf('--');
  const flags = end < 0 ? rest : rest.slice(0, end);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(commandHelp(cmd));
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    return reportError(name, e);
  }
}
