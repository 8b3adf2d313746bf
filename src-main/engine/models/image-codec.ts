// What the unified LM needs from an image tokenizer (UniCode): images ⇄ token ids of the LM's own
// vocabulary. An image is `positions` LM positions × `depth` stacked codes; code k of the codebook
// is LM token id `firstTokenId + k` (the vocabulary is shared, never extended), so every id returned
// lies in [firstTokenId, firstTokenId + codebookSize).
// Pixels are float32 (N, 3, size, size) in [0, 1], RGB, alpha already composited.

export interface ImageCodec {
  /** Side of the square input/output images in pixels (64 for the default model). */
  readonly imageSize: number;
  /** LM positions per image: `leadingPositions` that are not part of the pixel grid (a dual
   *  tokenizer's semantic position), then the ĥ·ŵ grid positions of side gridSide = ĥ = ŵ. */
  readonly positions: number;
  readonly gridSide: number;
  readonly leadingPositions?: number;
  /** Stacked codes per position (D). */
  readonly depth: number;
  readonly codebookSize: number;
  readonly firstTokenId: number;
  /** pixels (N, 3, S, S) → token ids (N, positions, depth) */
  encode(pixels: Float32Array, n: number): Promise<Int32Array>;
  /** token ids (N, positions, depth) → pixels (N, 3, S, S) in [0, 1] */
  decode(tokens: Int32Array, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}
