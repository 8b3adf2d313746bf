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

/**
 * The least-squares projection P (D_L, D) from LM rows to codes: argmin ‖E·P − C‖² + α‖P‖², where
 * row k of E is the LM row of code k's token. P = (EᵀE + αI)⁻¹EᵀC, solved by Cholesky.
 * With it, the pull keeps the part of the codebook that the LM table explains linearly.
 */
export function fitProjection(C: Matrix, CL: Matrix, tokenIds: ArrayLike<number>, ridge = 1e-3): Matrix {
  checkMatrix(C, 'fitProjection codebook');
  checkMatrix(CL, 'fitProjection LM table');
  const { rows: k, cols: d } = C;
  const dl = CL.cols;
  if (tokenIds.length !== k) throw new Error(`fitProjection: ${tokenIds.length} token ids for ${k} codes`);
  const A = new Float64Array(dl * dl); // EᵀE + αI
  const B = new Float64Array(dl * d); // EᵀC
  for (let c = 0; c < k; c++) {
    const t = tokenIds[c];
    if (!(Number.isInteger(t) && t >= 0 && t < CL.rows)) throw new Error(`fitProjection: code ${c} maps to token ${t}, outside the LM table's ${CL.rows} rows`);
    const e = CL.data.subarray(t * dl, (t + 1) * dl);
    for (let i = 0; i < dl; i++) {
      const ei = e[i];
      if (ei === 0) continue;
      for (let j = i; j < dl; j++) A[i * dl + j] += ei * e[j];
      for (let j = 0; j < d; j++) B[i * d + j] += ei * C.data[c * d + j];
    }
  }
  let trace = 0;
  for (let i = 0; i < dl; i++) trace += A[i * dl + i];
  const alpha = ridge * Math.max(trace / dl, 1e-12);
  for (let i = 0; i < dl; i++) {
    A[i * dl + i] += alpha;
    for (let j = 0; j < i; j++) A[i * dl + j] = A[j * dl + i];
  }
  // Cholesky A = L·Lᵀ (in place, lower triangle)
  for (let j = 0; j < dl; j++) {
    let s = A[j * dl + j];
    for (let t = 0; t < j; t++) s -= A[j * dl + t] ** 2;
    if (!(s > 0)) throw new Error('fitProjection: the LM rows are degenerate (matrix not positive definite)');
    const l = Math.sqrt(s);
    A[j * dl + j] = l;
    for (let i = j + 1; i < dl; i++) {
      let v = A[i * dl + j];
      for (let t = 0; t < j; t++) v -= A[i * dl + t] * A[j * dl + t];
      A[i * dl + j] = v / l;
    }
  }
  // Solve L·Y = B, then Lᵀ·P = Y, column by column of B.
  const P = new Float32Array(dl * d);
  const y = new Float64Array(dl);
  for (let col = 0; col < d; col++) {
    for (let i = 0; i < dl; i++) {
      let v = B[i * d + col];
      for (let t = 0; t < i; t++) v -= A[i * dl + t] * y[t];
      y[i] = v / A[i * dl + i];
    }
    for (let i = dl - 1; i >= 0; i--) {
      let v = y[i];
      for (let t = i + 1; t < dl; t++) v -= A[t * dl + i] * P[t * d + col];
      P[i * d + col] = v / A[i * dl + i];
    }
  }
  return { data: P, rows: dl, cols: d };
}
