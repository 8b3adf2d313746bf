// `tessera gradcheck [--json]`: every gradient rule against central finite differences.
import { gradCases } from '../../engine/autodiff/cases.ts';
import { runGradcheck } from '../../engine/autodiff/gradcheck.ts';
import { parseFlags, type Command } from '../command.ts';

export const gradcheck: Command = {
  name: 'gradcheck',
  summary: 'check every op gradient rule against finite differences',
  usage: 'gradcheck [--json] [--verbose]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, verbose: { type: 'boolean' } });
    const report = await runGradcheck(gradCases, (r) => {
      if (!values.json || values.verbose)
        (values.json ? console.error : console.log)(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(40)} rel err ${r.maxRelErr.toExponential(2)} (${r.checked} checks)${r.error ? ' ' + r.error : ''}`);
    });
    if (values.json) console.log(JSON.stringify({ ops: report.ops, failed: report.failed, max_rel_err: report.max_rel_err }));
    else console.log(`\n${report.ops} ops, ${report.cases.length} cases, max rel err ${report.max_rel_err.toExponential(2)}, ${report.failed.length} failed${report.failed.length ? ':\n  ' + report.failed.join('\n  ') : ''}`);
    return report.failed.length ? 1 : 0;
  },
};
