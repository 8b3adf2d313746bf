// Every `tessera` command, one import a line. Add yours here.
import type { Command } from '../command.ts';
import { dataEmoji } from './data-emoji.ts';
import { gradcheck } from './gradcheck.ts';
import { demo } from './demo.ts';
import { benchEngineCommand } from './bench.ts';
import { trainTextTokenizer } from './train-text-tokenizer.ts';
import { trainTokenizer } from './train-tokenizer.ts';
import { evalTokenizer } from './eval-tokenizer.ts';
import { benchTokenizer } from './bench-tokenizer.ts';
import { trainDefault } from './train-default.ts';
import { trainLm } from './train-lm.ts';

export const commands: Command[] = [
  dataEmoji,
  gradcheck,
  demo,
  benchEngineCommand,
  trainTextTokenizer,
  trainTokenizer,
  evalTokenizer,
  benchTokenizer,
  trainDefault,
  trainLm,
];
