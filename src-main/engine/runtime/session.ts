// The one module that talks to onnxruntime-node: sessions, execution providers, tensor conversion.
// `Session` runs on the calling thread (session.run blocks it); use it inside workers. Code on an
// event loop that must stay responsive uses WorkerSession (worker-session.ts) with the same API.
// Asking for a provider that is not available fails with a message naming what is missing.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { DType, Tensor } from '../graph/graph.ts';

export type Provider = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
export const PROVIDERS: Provider[] = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'];

export interface SessionOptions {
  provider?: Provider;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  optimize?: 'all' | 'extended' | 'basic' | 'disabled';
}

export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

export interface ProviderStatus {
  name: Provider;
  available: boolean;
  reason: string;
}

/** What this onnxruntime-node build can run on, with the reason for each missing provider. */
export function providerStatus(): ProviderStatus[] {
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  return PROVIDERS.map((name) => {
    const b = backends.get(name);
    if (!b) {
      const needs: Record<Provider, string> = {
        cpu: '', cuda: 'the CUDA provider exists only on Linux x64 builds', webgpu: 'this build has no WebGPU provider',
        dml: 'DirectML exists only in the Windows build of onnxruntime-node', coreml: 'CoreML exists only in the macOS build of onnxruntime-node',
      };
      return { name, available: false, reason: `not in this build (${process.platform}-${process.arch}): ${needs[name]}` };
    }
    if (!b.bundled && name === 'cuda') {
      const ok = cudaInstalled();
      return { name, available: ok, reason: ok ? 'installed' : "onnxruntime-node's CUDA libraries are not installed (its install step was skipped; reinstall with network access and ONNXRUNTIME_NODE_INSTALL_CUDA=v12), and a CUDA 12 driver is required" };
    }
    return { name, available: true, reason: b.bundled ? 'bundled' : 'installed' };
  });
}

/** The CUDA provider library is fetched by onnxruntime-node's install script; look for it. */
function cudaInstalled(): boolean {
  const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(root, 'bin');
  if (!existsSync(bin)) return false;
  return readdirSync(bin).some((napi) => existsSync(join(bin, napi, 'linux', 'x64', 'libonnxruntime_providers_cuda.so')));
}

/** The onnxruntime-node package version in use. */
export function runtimeVersion(): string {
  return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
}

export function checkProvider(p: Provider): void {
  const s = providerStatus().find((x) => x.name === p);
  if (!s) throw new ProviderUnavailableError(`unknown execution provider '${p}'; choose one of ${PROVIDERS.join(', ')}`);
  if (!s.available) throw new ProviderUnavailableError(`execution provider '${p}' is not available: ${s.reason}. Available: ${providerStatus().filter((x) => x.available).map((x) => x.name).join(', ')}`);
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { float32: 'float32', int64: 'int64', int32: 'int32', bool: 'bool' };

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, t.shape);
}

export function fromOrt(t: ort.Tensor): Tensor {
  const dtype = (Object.entries(ORT_TYPE).find(([, v]) => v === t.type)?.[0] ?? null) as DType | null;
  if (!dtype) throw new Error(`unsupported output tensor type ${t.type}`);
  return { dtype, shape: [...t.dims], data: t.data as Tensor['data'] };
}

export class Session {
  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly provider: Provider,
  ) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const provider = opts.provider ?? 'cpu';
    checkProvider(provider);
    const inner = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: opts.optimize ?? 'all',
      logSeverityLevel: 3,
    });
    return new Session(inner, provider);
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /** Run; inputs are passed without copying, outputs come back as fresh arrays. */
  async run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
    const res = outputs ? await this.inner.run(ortFeeds, outputs) : await this.inner.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(res)) out[k] = fromOrt(v as ort.Tensor);
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}
