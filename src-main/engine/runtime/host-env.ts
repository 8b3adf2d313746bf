// How a process that hosts onnxruntime sessions is best started. On Linux with glibc, malloc is told
// to back its large regions with transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1,
// glibc ≥ 2.35; older ones and other C libraries ignore the variable), so onnxruntime's weights,
// packed panels and activations cost one TLB entry per 2 MiB instead of one per 4 KiB and the
// hardware prefetchers are not stopped at every 4 KiB boundary. On this project's machine (README,
// Engine benchmark) that makes training ~30% faster and a 1024³ MatMul ~2× faster.
// glibc reads the tunable once, at process start, so only a child process can be given it: the CLI
// relaunches itself with it (cli/main.ts), the Electron main passes it to the backend's
// utilityProcess, spawnServe to the server. TESSERA_HUGE_PAGES=0 turns it off.
import { readFileSync } from 'node:fs';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/** Whether processes hosting the engine should run with huge-page malloc on this platform and env. */
export function hugePagesWanted(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' && env.TESSERA_HUGE_PAGES !== '0';
}

/**
 * The environment for a child process that hosts onnxruntime sessions: `env` itself when nothing is
 * to be added (other platforms, turned off, or a hugetlb tunable already set), else a copy with the
 * tunable appended to any GLIBC_TUNABLES already there.
 */
export function engineHostEnv(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  const have = env.GLIBC_TUNABLES ?? '';
  if (!hugePagesWanted(env, platform) || /(^|:)glibc\.malloc\.hugetlb=/.test(have)) return env;
  return { ...env, GLIBC_TUNABLES: have ? `${have}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** MiB of this process's memory on transparent huge pages (AnonHugePages of /proc/self/smaps_rollup); null where the kernel does not say. */
export function hugePagesMiB(): number | null {
  try {
    const m = /^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export interface HugePagesReport {
  /** Whether this platform and env ask for it (TESSERA_HUGE_PAGES=0 says no). */
  wanted: boolean;
  /** The GLIBC_TUNABLES this process started with. */
  tunables: string | null;
  /** The kernel's transparent huge page mode (/sys/kernel/mm/transparent_hugepage/enabled), e.g. 'madvise'. */
  thp_mode: string | null;
  /** MiB on huge pages after allocating and touching a 64 MiB probe buffer (null: the kernel does not say). */
  probe_mib: number | null;
}

/** Whether huge-page malloc is in effect in this process, measured with a 64 MiB allocation. */
export function hugePagesReport(): HugePagesReport {
  let mode: string | null = null;
  try {
    mode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    // not Linux, or no THP support
  }
  const before = hugePagesMiB();
  new Float32Array(16 << 20).fill(1); // 64 MiB, every page touched (freed at the next GC)
  const after = hugePagesMiB();
  return {
    wanted: hugePagesWanted(),
    tunables: process.env.GLIBC_TUNABLES ?? null,
    thp_mode: mode,
    probe_mib: before === null || after === null ? null : Math.max(0, after - before),
  };
}
