// The shape every training recipe shares (tokenizer, unified LM, fine-tunes), so the CLI and the
// backend's job runner drive them the same way. A recipe owns its loop and its checkpoints under
// opts.outDir/checkpoints; `resume` continues exactly from the newest one (weights, optimizer
// moments, RNG, data position, counters), so a resumed run's losses equal an uninterrupted run's.
// Pausing is an abort: the recipe saves a checkpoint at the step it reached and returns 'paused'.

export interface RecipeProgress {
  /** Optimizer steps done so far (across phases), and the planned total. */
  step: number;
  totalSteps: number;
  /** The phase of a multi-phase recipe (e.g. 'autoencoder', 'vq', 'stage1', 'stage2'). */
  phase: string;
  loss: number;
  /** Other scalars of this step: lr, grad_norm, usage, perplexity, psnr… */
  metrics: Record<string, number>;
  /** Seconds left at the current pace, when known. */
  etaSeconds: number | null;
}

/** Something to show while training: a caption for an image, or a generated image. */
export interface RecipeSample {
  step: number;
  kind: 'text' | 'image';
  /** For text: the text. For image: a PNG file path. */
  value: string;
  prompt?: string;
}

export interface RecipeRunOptions {
  /** Checkpoints go to outDir/checkpoints; the finished model to outDir/model (or as the recipe documents). */
  outDir: string;
  resume: boolean;
  signal?: AbortSignal;
  onProgress?(p: RecipeProgress): void;
  onCheckpoint?(c: { step: number; path: string }): void;
  onSample?(s: RecipeSample): void;
  /** Something the person running it should know that does not stop it (a broken checkpoint passed over on resume). */
  onNotice?(message: string): void;
  /** Intra-op threads for onnxruntime sessions. */
  threads?: number;
}

export interface RecipeResult {
  status: 'done' | 'paused';
  step: number;
  /** The finished model folder (status 'done'). */
  modelDir?: string;
  /** Final measured metrics (status 'done'). */
  metrics?: Record<string, number>;
}

export interface Recipe<C> {
  /** e.g. 'tokenizer', 'lm' */
  kind: string;
  /** Validate a config (from JSON); errors name the file and the field. */
  parseConfig(json: unknown, source: string): C;
  run(config: C, opts: RecipeRunOptions): Promise<RecipeResult>;
}

/** Thrown by parseConfig: names the source file and the offending field. */
export class RecipeConfigError extends Error {
  override name = 'RecipeConfigError';
  constructor(readonly source: string, readonly field: string, message: string) {
    super(`${source}: ${field}: ${message}`);
  }
}

/** Validate `json` against a zod schema; the first issue becomes a RecipeConfigError naming the field. */
export function parseConfigWith<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, json: unknown, source: string): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new RecipeConfigError(source, issue.path.map(String).join('.') || '(root)', issue.message);
}
