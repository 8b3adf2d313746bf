// `tessera train semantic`: train the semantic half of a dual image tokenizer (engine/train/recipes/semantic.ts).
import { semanticRecipe } from '../../engine/train/recipes/semantic.ts';
import type { Command } from '../command.ts';
import { RECIPE_USAGE, runRecipeCommand } from '../run-recipe.ts';

export const trainSemantic: Command = {
  name: 'train semantic',
  summary: 'Train the semantic image encoder and its codebooks (DualToken; checkpoints, exact --resume)',
  usage: `train semantic ${RECIPE_USAGE}`,
  run: (argv) => runRecipeCommand(semanticRecipe, argv),
};
