// `tessera train tokenizer`: train the UniCode-style VQ image tokenizer (engine/train/tokenizer.ts).
import { tokenizerRecipe } from '../../engine/train/tokenizer.ts';
import type { Command } from '../command.ts';
import { RECIPE_USAGE, runRecipeCommand } from '../run-recipe.ts';

export const trainTokenizer: Command = {
  name: 'train tokenizer',
  summary: 'Train the VQ image tokenizer (checkpoints, exact --resume, --metrics JSONL)',
  usage: `train tokenizer ${RECIPE_USAGE}`,
  run: (argv) => runRecipeCommand(tokenizerRecipe, argv),
};
