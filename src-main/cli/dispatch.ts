// The command line's dispatch (main.ts starts it): picks the command whose words match the start of
// argv (longest first) and runs it.
import { commands } from './commands/index.ts';
import { UsageError } from './command.ts';

function help(): string {
  const rows = [...commands].sort((a, b) => a.name.localeCompare(b.name));
  return ['usage: tessera <command> [flags]', '', ...rows.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    console.log(help());
    return argv.length === 0 ? 2 : 0;
  }
  const byLength = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  const cmd = byLength.find((c) => c.name.split(' ').every((w, i) => argv[i] === w));
  if (!cmd) {
    console.error(`tessera: unknown command '${argv.join(' ')}'\n\n${help()}`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  if (rest.includes('--help')) {
    console.log(`usage: tessera ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tessera ${cmd.name}: ${err.message}\nusage: tessera ${cmd.usage}`);
      return 2;
    }
    const e = err as Error;
    console.error(`tessera ${cmd.name}: ${e.name === 'Error' ? '' : e.name + ': '}${e.message}`);
    if (process.env.TESSERA_DEBUG) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
