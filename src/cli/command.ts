import type { OptionTable } from './options';

export interface Example {
  /** A complete command line, starting with `osteo`. */
  command: string;
  /** What it does. */
  what: string;
}

/** A CLI sub-command: `osteo <name> …`. `osteo <name> --help` is generated from these fields. */
export interface Command {
  name: string;
  summary: string;
  /** Synopsis, one line per form (e.g. `osteo train --data SPEC [options]`). */
  usage: string;
  /** Every option the command takes (see options.ts): parsed, checked and documented from here. */
  options: OptionTable;
  examples: Example[];
  /** Further help sections (title → lines), e.g. the data-spec syntax. */
  sections?: { title: string; lines: string[] }[];
  run(argv: string[]): Promise<number | void>;
}

/** Thrown for bad command-line usage: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
