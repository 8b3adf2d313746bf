// The shape of a `tessera` CLI command. Each command lives in its own file under commands/ and is
// listed in commands/index.ts; dispatch.ts matches the longest command path and hands over the rest.
import { mkdir } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fsReason } from '../engine/io/fs-errors.ts';

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
  // `--cfg -1`: a negative number after a value flag is its value (node's parser would take it for a
  // flag), so the flag's own check can say what it needs
  const takesValue = (a: string) => a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string';
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) args.push(takesValue(argv[i]) && /^-\d/.test(argv[i + 1] ?? '') ? `${argv[i]}=${argv[++i]}` : argv[i]);
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A number flag: `fallback` when absent, else a finite number that passes `ok` (`want` says what passes). */
export function numFlag(flag: string, v: string | undefined, fallback: number, ok: (x: number) => boolean, want: string): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || !ok(x)) throw new UsageError(`--${flag} must be ${want}, got '${v}'`);
  return x;
}

/** An integer flag ≥ min: undefined when absent (or `fallback`), a UsageError naming the flag otherwise. */
export function intFlag(flag: string, value: string | undefined, min: number): number | undefined;
export function intFlag(flag: string, value: string | undefined, min: number, fallback: number): number;
export function intFlag(flag: string, value: string | undefined, min: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag} must be ${min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`}, got '${value}'`);
  return n;
}

/** Make the folder a command writes into (and its parents) before any work, or refuse the flag
 *  that named it, saying why. */
export async function outputFolder(flag: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw new UsageError(`${flag}: cannot make the folder ${dir}: ${fsReason(err)}`);
  });
}
