// The UniCode one-way pull: every N steps the visual codebook C (K, D) moves toward the LM's embedding
// rows C_L for the same token ids, C' = λ·C + (1−λ)·C_L, where C_L is the LM table (V, D_L) projected
// to the code dimension by a given (D_L, D) matrix, or used as is when D_L = D. The LM table is only
// read: the LM is never updated from the tokenizer (two-way updates collapse VQA in the paper's
// ablation). With an EMA codebook, hand the result to EmaCodebook.setCodebook so the averages follow.

export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface PullOptions {
  /** (D_L, D) projection applied to the LM rows; omit when D_L = D. */
  proj?: Matrix;
  /** Code k pulls toward LM row tokenIds[k] (default: row k, i.e. code k is token k). */
  tokenIds?: ArrayLike<number>;
}

function checkMatrix(m: Matrix, what: string): void {
  if (m.data.length !== m.rows * m.cols) throw new Error(`${what}: ${m.data.length} values for shape [${m.rows}, ${m.cols}]`);
}

/** C' = λ·C + (1−λ)·(C_L[tokenIds] · P). Returns a new (K, D) matrix; C and C_L are not modified. */
export function pullCodebook(C: Matrix, CL: Matrix, lambda: number, opts: PullOptions = {}): Matrix {
  checkMatrix(C, 'pullCodebook codebook');
  checkMatrix(CL, 'pullCodebook LM table');
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`pullCodebook: λ must be in [0, 1], got ${lambda}`);
  const { rows: k, cols: d } = C;
  const P = opts.proj;
  if (P) {
    checkMatrix(P, 'pullCodebook projection');
    if (P.rows !== CL.cols || P.cols !== d) throw new Error(`pullCodebook: projection is [${P.rows}, ${P.cols}], needs [${CL.cols}, ${d}] (LM dim → code dim)`);
  } else if (CL.cols !== d) throw new Error(`pullCodebook: LM dim ${CL.cols} differs from code dim ${d}; pass a (${CL.cols}, ${d}) projection`);
  const ids = opts.tokenIds ?? Array.from({ length: k }, (_, i) => i);
  if (ids.length !== k) throw new Error(`pullCodebook: ${ids.length} token ids for ${k} codes`);
  const out = new Float32Array(k * d);
  const target = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    const t = ids[c];
    if (!(Number.isInteger(t) && t >= 0 && t < CL.rows)) throw new Error(`pullCodebook: code ${c} maps to token ${t}, outside the LM table's ${CL.rows} rows`);
    const row = CL.data.subarray(t * CL.cols, (t + 1) * CL.cols); // (D_L)
    if (P) {
      target.fill(0);
      for (let i = 0; i < CL.cols; i++) for (let j = 0; j < d; j++) target[j] += row[i] * P.data[i * d + j]; // (D)
    } else target.set(row);
    for (let j = 0; j < d; j++) out[c * d + j] = lambda * C.data[c * d + j] + (1 - lambda) * target[j];
  }
  return { data: out, rows: k, cols: d };
}

/** Whether the pull is due after `step` optimizer steps when it runs every `every` steps. */
export function pullDue(step: number, every: number): boolean {
  if (!(Number.isInteger(every) && every > 0)) throw new Error(`pullDue: the period must be a positive integer, got ${every}`);
  return step > 0 && step % every === 0;
}
