// `tessera train lm`: train the unified LM (engine/train/recipes/lm.ts), Stage I or II, with a live
// progress line (step, loss, lr, ETA), --metrics JSONL, checkpoints and exact --resume.
import { lmRecipe } from '../../engine/train/recipes/lm.ts';
import type { Command } from '../command.ts';
import { RECIPE_USAGE, runRecipeCommand } from '../run-recipe.ts';

export const trainLm: Command = {
  name: 'train lm',
  summary: 'Train the unified LM on an imagefolder with an image tokenizer (checkpoints, exact --resume, --metrics JSONL)',
  usage: `train lm ${RECIPE_USAGE}`,
  run: (argv) => runRecipeCommand(lmRecipe, argv),
};
