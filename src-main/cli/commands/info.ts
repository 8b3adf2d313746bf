// `tessera info [--json]`: what this machine and install give the engine — onnxruntime-node's
// version and execution providers (with why each missing one is missing), cores, and whether
// huge-page malloc is in effect (engine/runtime/host-env.ts). For bug reports and benchmarks.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { hugePagesReport } from '../../engine/runtime/host-env.ts';
import { providerStatus, runtimeVersion } from '../../engine/runtime/session.ts';
import { parseFlags, type Command } from '../command.ts';

export const info: Command = {
  name: 'info',
  summary: 'onnxruntime-node version, execution providers, cores, memory and huge-page malloc of this machine',
  usage: 'info [--json]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' } });
    const report = {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      onnxruntime_node: runtimeVersion(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      providers: providerStatus(),
      huge_pages: hugePagesReport(),
    };
    if (values.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const hp = report.huge_pages;
    console.log(`node ${report.node} on ${report.platform}, onnxruntime-node ${report.onnxruntime_node}`);
    console.log(`${report.cpu}: ${report.cores} cores, ${report.memory_gib} GiB`);
    for (const p of report.providers) console.log(`  ${p.available ? 'yes' : 'no '} ${p.name.padEnd(7)} ${p.reason}`);
    console.log(
      !hp.wanted ? 'huge-page malloc: off (not Linux, or TESSERA_HUGE_PAGES=0)'
        : hp.probe_mib ? `huge-page malloc: on (${hp.probe_mib} of a 64 MiB probe on huge pages; kernel mode ${hp.thp_mode})`
          : `huge-page malloc: asked for but not in effect (GLIBC_TUNABLES=${hp.tunables ?? ''}, kernel mode ${hp.thp_mode ?? 'unknown'})`,
    );
    return 0;
  },
};
