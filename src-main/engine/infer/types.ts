// What the app asks of a loaded unified model (chat, captioning, text-to-image), independent of how
// the model is built. The backend runs an implementation inside a worker; the CLI calls it directly.
// Pixels are float32 (3, S, S) in [0, 1], RGB.
import type { MemoryMix } from './memory.ts';

export type MessagePart = { type: 'text'; text: string } | { type: 'image'; pixels: Float32Array; size: number };

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  parts: MessagePart[];
}

export interface TextSampling {
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  maxNewTokens?: number;
  /**
   * Text-only answers: read the images in this many views (the image itself and views − 1 jittered
   * copies, VIEW_JITTER) and choose each token from the views' averaged log-probabilities. 1 = off.
   */
  views?: number;
  /** Read every input image by its semantic position alone, the pixel positions blank (a model with a
   *  dual tokenizer, trained with `semantic_only`). */
  semanticOnly?: boolean;
  /**
   * The model folder's example memory (infer/memory.ts), for questions it knows about one image:
   * on by default when the folder has one; false = the LM alone; fields override the memory's mix.
   */
  memory?: boolean | Partial<MemoryMix>;
}

export interface ImageSampling {
  /** Classifier-free guidance scale (1 = off). */
  cfg?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /**
   * Image completion: LM ids (UnifiedModel.imageCodes) of the first positions of every drawn image,
   * kept as given (a whole number of positions, D codes each, at most the image's P·D); the model
   * draws the rest. A dual tokenizer's semantic position comes first, then the pixel rows.
   */
  prefix?: ArrayLike<number>;
  /**
   * Drawing by example (infer/memory.ts): when the prompt names a label the model's example memory
   * holds images of, the LM writes one of them out again (example (seed + i) mod their count for
   * image i), unguided, instead of drawing from the text alone. On by default where the memory holds
   * image codes; false = the LM alone. A completion (`prefix`) never uses it.
   */
  examples?: boolean;
}

export type GenerationEvent =
  | { type: 'text'; delta: string }
  | { type: 'image-start'; index: number; positions: number }
  /** Partial image: the positions decoded so far drawn, the rest blank; emitted every few positions. */
  | { type: 'image-progress'; index: number; done: number; positions: number; pixels: Float32Array; size: number }
  | { type: 'image-done'; index: number; pixels: Float32Array; size: number; tokens: Int32Array }
  /** The example memory's nearest examples helped with this answer (infer/memory.ts): their answers, cosine similarities and weights. */
  | { type: 'memory'; examples: { answer: string; similarity: number; weight: number }[]; lambda: number }
  /** Image `index` is the LM's redrawing of one of the example memory's images of `label`: entry `entry`, example `example` (1-based) of `of`. */
  | { type: 'example'; index: number; label: string; entry: number; example: number; of: number }
  | { type: 'done'; reason: 'eos' | 'length' | 'aborted' };

export interface UnifiedModelApi {
  /** The next assistant turn, streamed: text deltas and images (the model decides when to draw). */
  chat(turns: ChatTurn[], sampling: TextSampling & { image?: ImageSampling }, onEvent: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<void>;
  /** n images for a text prompt (CFG, constrained to image codes, exactly the right count). */
  generateImages(prompt: string, n: number, sampling: ImageSampling, onEvent?: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<{ pixels: Float32Array; size: number; tokens: Int32Array }[]>;
  /** One line describing an image (greedy; `views` as in TextSampling). */
  caption(pixels: Float32Array, size: number, o?: { views?: number; memory?: TextSampling['memory'] }): Promise<string>;
  release(): Promise<void>;
}
