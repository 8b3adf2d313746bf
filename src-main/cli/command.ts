// The shape of a `tessera` CLI command. Each command lives in its own file under commands/ and is
// listed in commands/index.ts; main.ts matches the longest command path and hands over the rest.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  /** Words that select it, e.g. "data emoji" or "gradcheck". */
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number | void>;
}

/** A user-facing error: main prints its message (no stack) and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
