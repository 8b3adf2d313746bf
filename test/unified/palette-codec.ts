// A genuine, deterministic image codec for tests until the trained VQ tokenizer lands (it is real,
// not a mock: it encodes real pixels and decodes back with a bounded error). Each grid cell's mean
// colour is residually quantized over D levels: level 0 to the nearest of L³ cell centres of [0,1]³,
// level d>0 the remaining residual to L³ centres of a cube L^d times smaller. Code (d, j) is token
// id firstTokenId + d·L³ + j, so ids lie in [firstTokenId, firstTokenId + D·L³). Decoding paints each
// cell with the sum of its D code vectors (flat colour per cell); any code may sit in any slot.
import type { ImageCodec } from '../../src-main/engine/models/image-codec.ts';

export class PaletteCodec implements ImageCodec {
  readonly positions: number;
  readonly codebookSize: number;
  constructor(readonly imageSize = 64, readonly gridSide = 8, readonly depth = 4, readonly levels = 4, readonly firstTokenId = 16) {
    if (imageSize % gridSide !== 0) throw new Error(`PaletteCodec: imageSize ${imageSize} must be a multiple of gridSide ${gridSide}`);
    this.positions = gridSide * gridSide;
    this.codebookSize = depth * levels ** 3;
  }

  /** Half-width of level d's cube and its L cell centres along one axis. */
  private centres(d: number): number[] {
    const L = this.levels;
    const half = d === 0 ? 0.5 : 0.5 / L ** d;
    const lo = d === 0 ? 0 : -half;
    return Array.from({ length: L }, (_, i) => lo + ((i + 0.5) * 2 * half) / L);
  }

  async encode(pixels: Float32Array, n: number): Promise<Int32Array> {
    const [S, G, D, L] = [this.imageSize, this.gridSide, this.depth, this.levels];
    if (pixels.length !== n * 3 * S * S) throw new Error(`PaletteCodec.encode: ${pixels.length} values for ${n} images of 3×${S}×${S}`);
    const cell = S / G;
    const out = new Int32Array(n * G * G * D); // (N, P, D)
    for (let b = 0; b < n; b++)
      for (let gy = 0; gy < G; gy++)
        for (let gx = 0; gx < G; gx++) {
          const r = [0, 1, 2].map((ch) => {
            let s = 0;
            for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) s += pixels[((b * 3 + ch) * S + gy * cell + y) * S + gx * cell + x];
            return s / (cell * cell);
          });
          for (let d = 0; d < D; d++) {
            const cs = this.centres(d);
            const idx = r.map((v) => cs.reduce((best, c, i) => (Math.abs(v - c) < Math.abs(v - cs[best]) ? i : best), 0));
            for (let ch = 0; ch < 3; ch++) r[ch] -= cs[idx[ch]];
            out[((b * G + gy) * G + gx) * D + d] = this.firstTokenId + d * L ** 3 + (idx[0] * L + idx[1]) * L + idx[2];
          }
        }
    return out;
  }

  async decode(tokens: Int32Array, n: number): Promise<Float32Array> {
    const [S, G, D, L] = [this.imageSize, this.gridSide, this.depth, this.levels];
    const cell = S / G;
    const px = new Float32Array(n * 3 * S * S);
    for (let b = 0; b < n; b++)
      for (let p = 0; p < G * G; p++) {
        const rgb = [0, 0, 0];
        for (let d = 0; d < D; d++) {
          // one shared codebook: a code is the vector of its own level whatever slot it sits in
          const id = tokens[(b * G * G + p) * D + d] - this.firstTokenId;
          if (!(id >= 0 && id < this.codebookSize)) throw new Error(`PaletteCodec.decode: token ${id + this.firstTokenId} is outside [${this.firstTokenId}, ${this.firstTokenId + this.codebookSize})`);
          const [level, j] = [Math.floor(id / L ** 3), id % L ** 3];
          const cs = this.centres(level);
          [Math.floor(j / (L * L)), Math.floor(j / L) % L, j % L].forEach((k, ch) => (rgb[ch] += cs[k]));
        }
        const [gy, gx] = [Math.floor(p / G), p % G];
        for (let ch = 0; ch < 3; ch++)
          for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) px[((b * 3 + ch) * S + gy * cell + y) * S + gx * cell + x] = Math.min(1, Math.max(0, rgb[ch]));
      }
    return px;
  }

  async release(): Promise<void> {}
}
