// Command-line flags: a negative number after a value flag is that flag's value (node's parser alone
// reads `--cfg -1` as a flag named -1), so the flag's own check answers; everything else as parseArgs.
import { describe, expect, it } from 'vitest';
import { numFlag, parseFlags, UsageError } from '../../src-main/cli/command.ts';

const opts = { cfg: { type: 'string' }, n: { type: 'string' }, json: { type: 'boolean' } } as const;
const parse = (argv: string[]) => parseFlags(argv, opts);

describe('parseFlags', () => {
  it('takes a negative number after a value flag as its value', () => {
    expect(parse(['--cfg', '-1', '--n', '-2.5']).values).toEqual({ cfg: '-1', n: '-2.5' });
    expect(() => numFlag('cfg', parse(['--cfg', '-1']).values.cfg, 3, (x) => x >= 0, 'a number ≥ 0')).toThrow("--cfg must be a number ≥ 0, got '-1'");
    expect(parse(['--cfg=-1', '--json']).values).toEqual({ cfg: '-1', json: true });
  });

  it('still refuses unknown flags and a missing value, as usage errors', () => {
    expect(() => parse(['--json', '-1'])).toThrow(UsageError); // a boolean flag takes no value
    expect(() => parse(['--cfg'])).toThrow(/argument missing/);
    expect(() => parse(['--nope', '1'])).toThrow(/Unknown option '--nope'/);
  });
});
