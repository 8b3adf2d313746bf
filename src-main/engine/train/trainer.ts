// The training step on onnxruntime: forward + loss + backward + AdamW in one ONNX graph, so one
// optimizer step is one session run (with gradient accumulation: k−1 runs of an accumulate graph,
// then the update graph on the last micro-batch). Parameters and moments are graph inputs (passed
// without copies) and come back as outputs. Frozen groups are inputs that get no gradient.
import { gradients } from '../autodiff/grad.ts';
import { GraphError, Graph, numel, type Tensor, type Value } from '../graph/graph.ts';
import { add } from '../graph/ops/index.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { adamwInputs, adamwUpdate, biasCorrections, type AdamWConfig } from '../optim/adamw.ts';
import { lrAt, type Schedule } from '../optim/schedule.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import { Rng, type RngState } from '../util/rng.ts';

export interface TrainSpec {
  /** Declare the data inputs and parameters on g; return the scalar loss (and scalar metrics). */
  build(g: Graph): { loss: Value; metrics?: Record<string, Value>; outputs?: Record<string, Value> };
  /** Initial value of a parameter (called once per parameter, in declaration order). */
  init(name: string, shape: number[], rng: Rng): Float32Array;
}

export interface ParamGroup {
  match: RegExp;
  frozen?: boolean;
  weightDecay?: number;
  lrScale?: number;
}

export interface TrainConfig {
  optim: AdamWConfig & { weightDecay?: number };
  schedule: Schedule;
  /** Micro-batches per optimizer step (default 1). */
  accumulate?: number;
  /** First matching group wins; unmatched parameters use optim.weightDecay and lr scale 1. */
  groups?: ParamGroup[];
  seed?: number;
  session?: SessionOptions;
}

export interface StepResult {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  metrics: Record<string, number>;
  /** The spec's extra (non-scalar) outputs from the update run, e.g. what an EMA codebook averages. */
  outputs: Record<string, Tensor>;
}

/** Everything needed to continue a run exactly: weights, moments, counters, RNG, data cursor. */
export interface TrainingState {
  step: number;
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  rng: RngState;
  data: unknown;
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });

export class Trainer {
  readonly shapes = new Map<string, number[]>();
  readonly trainable: string[] = [];
  params = new Map<string, Float32Array>();
  m = new Map<string, Float32Array>();
  v = new Map<string, Float32Array>();
  step = 0;
  rng: Rng;
  /** The caller's data cursor, saved and restored with the state. */
  data: unknown = null;
  private metricNames: string[] = [];
  private outputNames: string[] = [];

  private constructor(
    readonly cfg: TrainConfig,
    private update: Session,
    private accum: Session | null,
    private evalSession: Session,
  ) {
    this.rng = new Rng(cfg.seed ?? 0);
  }

  static async create(spec: TrainSpec, cfg: TrainConfig): Promise<Trainer> {
    const g = new Graph('train');
    const { loss, metrics = {}, outputs = {} } = spec.build(g);
    if (loss.rank !== 0) throw new GraphError(`the training loss must be a scalar, got ${loss}`);
    const groupOf = (name: string) => cfg.groups?.find((gr) => gr.match.test(name));
    const trainable = [...g.params].filter(([name]) => !groupOf(name)?.frozen);
    if (trainable.length === 0) throw new GraphError('nothing to train: every parameter is frozen');
    const grads = gradients(loss, trainable.map(([, p]) => p.value));
    const k = cfg.accumulate ?? 1;

    // Accumulate graph: acc' = acc + grad.
    const accIn = trainable.map(([name, p]) => g.input(`acc.${name}`, 'float32', p.value.shape));
    const accOuts: Record<string, Value> = { loss, ...metrics };
    trainable.forEach(([name], i) => (accOuts[`acc_out.${name}`] = add(accIn[i], grads[i]!)));

    // Update graph (with and without accumulated gradients).
    const opt = adamwInputs(g);
    const slots = trainable.map(([name, p], i) => {
      const grad = grads[i];
      if (!grad) throw new GraphError(`parameter '${name}' does not influence the loss; freeze it or remove it`);
      const gr = groupOf(name);
      return {
        name, param: p.value, grad: k > 1 ? add(accIn[i], grad) : grad,
        m: g.input(`m.${name}`, 'float32', p.value.shape), v: g.input(`v.${name}`, 'float32', p.value.shape),
        weightDecay: gr?.weightDecay ?? cfg.optim.weightDecay ?? 0, lrScale: gr?.lrScale ?? 1,
      };
    });
    const { norm, out } = adamwUpdate(g, slots, opt, cfg.optim);
    const updOuts: Record<string, Value> = { loss, grad_norm: norm, ...metrics, ...Object.fromEntries(Object.entries(outputs).map(([n, v]) => [`out.${n}`, v])) };
    for (const o of out) Object.assign(updOuts, { [`new.${o.name}`]: o.p, [`new_m.${o.name}`]: o.m, [`new_v.${o.name}`]: o.v });

    const so = cfg.session ?? {};
    const update = await Session.create(exportOnnx(g, updOuts).bytes, so);
    const accum = k > 1 ? await Session.create(exportOnnx(g, accOuts).bytes, so) : null;
    const evalSession = await Session.create(exportOnnx(g, { loss, ...metrics }).bytes, so);
    const t = new Trainer(cfg, update, accum, evalSession);
    t.metricNames = Object.keys(metrics);
    t.outputNames = Object.keys(outputs);
    t.trainable.push(...trainable.map(([n]) => n));
    const initRng = new Rng((cfg.seed ?? 0) ^ 0x5eed);
    for (const [name, p] of g.params) {
      const shape = p.value.shape as number[];
      t.shapes.set(name, shape);
      const init = spec.init(name, shape, initRng);
      if (init.length !== numel(shape)) throw new GraphError(`init of '${name}' gave ${init.length} values for shape [${shape}]`);
      t.params.set(name, init);
    }
    for (const name of t.trainable) {
      const n = numel(t.shapes.get(name)!);
      t.m.set(name, new Float32Array(n));
      t.v.set(name, new Float32Array(n));
    }
    return t;
  }

  private paramFeeds(): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const [name, data] of this.params) feeds[name] = f32(this.shapes.get(name)!, data);
    return feeds;
  }

  /** One optimizer step over `micro.length` (= accumulate) micro-batches of data feeds. */
  async trainStep(micro: Record<string, Tensor>[]): Promise<StepResult> {
    const k = this.cfg.accumulate ?? 1;
    if (micro.length !== k) throw new GraphError(`trainStep: expected ${k} micro-batches (accumulate=${k}), got ${micro.length}`);
    const base = this.paramFeeds();
    const acc = new Map<string, Float32Array>();
    let lossSum = 0;
    const metricSum: Record<string, number> = {};
    const addMetrics = (r: Record<string, Tensor>) => {
      lossSum += (r.loss.data as Float32Array)[0];
      for (const m of this.metricNames) metricSum[m] = (metricSum[m] ?? 0) + (r[m].data as Float32Array)[0];
    };
    const accFeeds = () => {
      const feeds: Record<string, Tensor> = {};
      for (const name of this.trainable) feeds[`acc.${name}`] = f32(this.shapes.get(name)!, acc.get(name) ?? new Float32Array(numel(this.shapes.get(name)!)));
      return feeds;
    };
    for (let i = 0; i < k - 1; i++) {
      const r = await this.accum!.run({ ...base, ...micro[i], ...accFeeds() });
      addMetrics(r);
      for (const name of this.trainable) acc.set(name, r[`acc_out.${name}`].data as Float32Array);
    }
    const lr = lrAt(this.cfg.schedule, this.step);
    const { bc1, bc2 } = biasCorrections(this.step, this.cfg.optim);
    const feeds: Record<string, Tensor> = { ...base, ...micro[k - 1], ...(k > 1 ? accFeeds() : {}) };
    for (const name of this.trainable) {
      const shape = this.shapes.get(name)!;
      feeds[`m.${name}`] = f32(shape, this.m.get(name)!);
      feeds[`v.${name}`] = f32(shape, this.v.get(name)!);
    }
    const scalarF = (x: number) => f32([], Float32Array.of(x));
    Object.assign(feeds, { 'opt.lr': scalarF(lr), 'opt.bc1': scalarF(bc1), 'opt.bc2': scalarF(bc2), 'opt.grad_scale': scalarF(1 / k) });
    const r = await this.update.run(feeds);
    addMetrics(r);
    for (const name of this.trainable) {
      this.params.set(name, r[`new.${name}`].data as Float32Array);
      this.m.set(name, r[`new_m.${name}`].data as Float32Array);
      this.v.set(name, r[`new_v.${name}`].data as Float32Array);
    }
    this.step++;
    const metrics = Object.fromEntries(Object.entries(metricSum).map(([n, s]) => [n, s / k]));
    const outputs = Object.fromEntries(this.outputNames.map((n) => [n, r[`out.${n}`]]));
    return { step: this.step, loss: lossSum / k, gradNorm: (r.grad_norm.data as Float32Array)[0], lr, metrics, outputs };
  }

  /** Loss and metrics on a batch with the current weights (no update). */
  async evaluate(batch: Record<string, Tensor>): Promise<{ loss: number; metrics: Record<string, number> }> {
    const r = await this.evalSession.run({ ...this.paramFeeds(), ...batch });
    const metrics = Object.fromEntries(this.metricNames.map((m) => [m, (r[m].data as Float32Array)[0]]));
    return { loss: (r.loss.data as Float32Array)[0], metrics };
  }

  getState(): TrainingState {
    return { step: this.step, params: this.params, m: this.m, v: this.v, rng: this.rng.state, data: this.data };
  }

  /** Restore a saved state; every parameter and moment must match this model's names and shapes. */
  setState(s: TrainingState): void {
    const check = (what: string, map: Map<string, Float32Array>, names: string[]) => {
      for (const name of names) {
        const d = map.get(name);
        const n = numel(this.shapes.get(name)!);
        if (!d) throw new GraphError(`${what}: '${name}' is missing from the saved state`);
        if (d.length !== n) throw new GraphError(`${what}: '${name}' has ${d.length} values, the model needs ${n} (shape [${this.shapes.get(name)}])`);
      }
    };
    check('weights', s.params, [...this.shapes.keys()]);
    check('optimizer m', s.m, this.trainable);
    check('optimizer v', s.v, this.trainable);
    this.params = new Map([...this.shapes.keys()].map((n) => [n, s.params.get(n)!]));
    this.m = new Map(this.trainable.map((n) => [n, s.m.get(n)!]));
    this.v = new Map(this.trainable.map((n) => [n, s.v.get(n)!]));
    this.step = s.step;
    this.rng = new Rng(s.rng);
    this.data = s.data;
  }

  async release(): Promise<void> {
    await Promise.all([this.update.release(), this.accum?.release(), this.evalSession.release()]);
  }
}
