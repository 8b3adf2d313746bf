// `tessera chat --model DIR [--message TEXT] [--image FILE]`: talk to a unified model. With --message,
// one reply; without, a REPL (node:readline) where `/image FILE` attaches an image to the next message
// and `/reset` starts over. Images the model draws are written as PNGs into --out-dir. Questions the
// model folder's example memory knows ("What is this?") are answered with it, and a drawing asked for
// by a label the memory holds images of is drawn by example; --no-memory: the LM alone.
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChatTurn, MessagePart } from '../../engine/infer/types.ts';
import { readImageFile, writeImageFile } from '../../engine/infer/files.ts';
import { loadUnifiedModel, type UnifiedModel } from '../../engine/infer/unified.ts';
import { describeDrawnFrom, describeExamples } from '../../engine/infer/memory.ts';
import { intFlag, outputFolder, parseFlags, UsageError, type Command } from '../command.ts';

async function reply(m: UnifiedModel, turns: ChatTurn[], outDir: string, seed: number): Promise<ChatTurn> {
  const parts: MessagePart[] = [];
  const writes: Promise<void>[] = [];
  let text = '';
  await m.chat(turns, { temperature: 0, seed, maxNewTokens: 96, image: { cfg: 3, seed } }, (e) => {
    if (e.type === 'text') {
      process.stdout.write(e.delta);
      text += e.delta;
    } else if (e.type === 'memory') {
      // which labelled examples the answer leans on (stderr: the reply stays clean)
      console.error(`[memory, λ ${e.lambda}: ${describeExamples(e.examples)}]`);
    } else if (e.type === 'example') {
      console.error(`[drawn ${describeDrawnFrom(e)}]`);
    } else if (e.type === 'image-done') {
      if (text) parts.push({ type: 'text', text });
      text = '';
      parts.push({ type: 'image', pixels: e.pixels, size: e.size });
      const file = join(outDir, `chat-${Date.now()}-${e.index}.png`);
      writes.push(writeImageFile(file, e.pixels, e.size, { model: m.folder.dir, seed: String(seed), Software: 'tessera chat' }).then(
        () => void process.stdout.write(`[image: ${file}]`),
        (err: Error) => console.error(`\n[image not saved: ${file}: ${err.message}]`),
      ));
    }
  });
  await Promise.all(writes);
  process.stdout.write('\n');
  if (text) parts.push({ type: 'text', text });
  return { role: 'assistant', parts };
}

export const chat: Command = {
  name: 'chat',
  summary: 'Chat with a unified model: images in (--image, /image) and out (PNG files)',
  usage: 'chat --model DIR [--message TEXT] [--image FILE] [--out-dir DIR] [--seed S] [--no-memory] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, { model: { type: 'string' }, message: { type: 'string' }, image: { type: 'string' }, 'out-dir': { type: 'string' }, seed: { type: 'string' }, threads: { type: 'string' }, 'no-memory': { type: 'boolean' } });
    if (!values.model) throw new UsageError('--model is required');
    const outDir = resolve(values['out-dir'] ?? '.');
    await outputFolder('--out-dir', outDir);
    const seed = intFlag('seed', values.seed, 0, 0);
    const m = await loadUnifiedModel(values.model, { threads: intFlag('threads', values.threads, 1), memory: !values['no-memory'] });
    const S = m.codec.imageSize;
    const image = async (file: string): Promise<MessagePart> => {
      const { pixels, note } = await readImageFile(file, S);
      if (note) console.error(note);
      return { type: 'image', pixels, size: S };
    };
    try {
      let pending: MessagePart[] = values.image ? [await image(values.image)] : [];
      if (values.message !== undefined) {
        await reply(m, [{ role: 'user', parts: [...pending, { type: 'text', text: values.message }] }], outDir, seed);
        return 0;
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
      const turns: ChatTurn[] = [];
      console.log('chat: type a message; /image FILE attaches an image, /reset starts over, /quit ends.');
      rl.setPrompt('> ');
      rl.prompt();
      for await (const raw of rl) {
        const line = raw.trim();
        if (line === '/quit') break;
        if (line === '/reset') {
          turns.length = 0;
          pending = [];
        } else if (line.startsWith('/image ')) {
          try {
            pending.push(await image(line.slice(7).trim()));
            console.log('(image attached to your next message)');
          } catch (err) {
            console.error((err as Error).message);
          }
        } else if (line || pending.length) {
          turns.push({ role: 'user', parts: [...pending, ...(line ? [{ type: 'text' as const, text: line }] : [])] });
          pending = [];
          try {
            turns.push(await reply(m, turns, outDir, seed + turns.length));
          } catch (err) {
            console.error((err as Error).message);
            turns.pop();
          }
        }
        rl.prompt();
      }
      rl.close();
    } finally {
      await m.release();
    }
    return 0;
  },
};
