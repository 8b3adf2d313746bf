// Every `tessera` command, one import a line. Add yours here.
import type { Command } from '../command.ts';
import { dataEmoji } from './data-emoji.ts';
import { dataImport } from './data-import.ts';
import { dataDedupe } from './data-dedupe.ts';
import { dataExport } from './data-export.ts';
import { gradcheck } from './gradcheck.ts';
import { demo } from './demo.ts';
import { benchEngineCommand, benchProductsCommand } from './bench.ts';
import { trainTextTokenizer } from './train-text-tokenizer.ts';
import { trainTokenizer } from './train-tokenizer.ts';
import { trainSemantic } from './train-semantic.ts';
import { evalTokenizer } from './eval-tokenizer.ts';
import { benchTokenizer } from './bench-tokenizer.ts';
import { benchTraining } from './bench-training.ts';
import { benchGenerate } from './bench-generate.ts';
import { trainDefault } from './train-default.ts';
import { trainLm } from './train-lm.ts';
import { serve } from './serve.ts';
import { caption } from './caption.ts';
import { generate } from './generate.ts';
import { chat } from './chat.ts';
import { evalLm } from './eval-lm.ts';
import { info } from './info.ts';
import { memoryBuild } from './memory-build.ts';

export const commands: Command[] = [
  dataEmoji,
  dataImport,
  dataDedupe,
  dataExport,
  gradcheck,
  demo,
  benchEngineCommand,
  benchProductsCommand,
  trainTextTokenizer,
  trainTokenizer,
  trainSemantic,
  evalTokenizer,
  benchTokenizer,
  benchTraining,
  benchGenerate,
  trainDefault,
  trainLm,
  serve,
  caption,
  generate,
  chat,
  evalLm,
  info,
  memoryBuild,
];
