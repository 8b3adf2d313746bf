// The CLI on the shipped unified model (models/tessera-emoji): `generate` and `chat` write their PNGs
// into a folder made for them, carrying the prompt; an --out that cannot be written is refused before
// any drawing; a drawn chat reply's image is written before the command returns; `caption` names an
// image it cannot read, captions the others and exits 1; a model folder whose image tokenizer does not
// give what config.json says is refused, naming the file, the field and the likely cause.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { packageDir } from '../../src-main/engine/data/emoji.ts';
import { tmp } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MODEL = join(ROOT, 'models', 'tessera-emoji');
const tessera = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', ...args], { cwd: ROOT }).then(
  (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
);
const cli = (...args: string[]) => tessera('generate', '--model', MODEL, '--prompt', 'Draw a rocket.', ...args);

describe('tessera generate and chat', () => {
  it('makes the output folder, and refuses an --out it cannot write before drawing', async () => {
    const dir = tmp('gen-cli');
    const file = join(dir, 'new', 'deeper', 'rocket.png');
    const ok = await cli('--out', file, '--threads', '1');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain(`wrote ${file}`);
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    expect(meta.comments?.find((c) => c.keyword === 'prompt')?.text).toBe('Draw a rocket.');

    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const bad = await cli('--out', join(blocker, 'rocket.png'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`--out: cannot make the folder ${blocker}: a file of that name is in the way`);
    expect(bad.err).not.toContain('drawing:');
    expect(existsSync(join(blocker, 'rocket.png'))).toBe(false);

    const chatDir = join(dir, 'chat', 'images');
    const chat = await tessera('chat', '--model', MODEL, '--message', 'Draw a rocket.', '--out-dir', chatDir, '--threads', '1');
    expect(chat.code, chat.err).toBe(0);
    const [png] = readdirSync(chatDir);
    expect(chat.out).toContain(`[image: ${join(chatDir, png)}]`);
    expect((await sharp(join(chatDir, png)).metadata()).width).toBe(64);
    const chatBad = await tessera('chat', '--model', MODEL, '--message', 'Draw a rocket.', '--out-dir', blocker);
    expect([chatBad.code, chatBad.err]).toEqual([2, expect.stringContaining(`--out-dir: cannot make the folder ${blocker}: a file of that name is in the way`)]);
  }, 60_000);

  it('captions the images it can read and names the others', async () => {
    const dir = tmp('caption-cli');
    const rocket = join(packageDir('emoji-datasource-apple'), 'img', 'apple', '64', '1f680.png');
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, 'not an image');
    const missing = join(dir, 'missing.png');
    const r = await tessera('caption', '--model', MODEL, '--threads', '1', missing, rocket, broken);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${rocket}: \\S`))]);
    expect(r.err).toContain(`${missing}: no such file`);
    expect(r.err).toContain(`${broken}: not an image`);
    expect(r.err).toContain('2 of 3 images could not be read');
  }, 60_000);

  it('refuses a model folder whose config asks the image tokenizer for more positions than it gives, saying so', async () => {
    const dir = tmp('positions');
    cpSync(MODEL, dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const gives = config.image_positions;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, image_positions: gives + 1 }));
    const rocket = join(packageDir('emoji-datasource-apple'), 'img', 'apple', '64', '1f680.png');
    const r = await tessera('caption', '--model', dir, rocket);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`${join(dir, 'config.json')}: field 'image_positions' is ${gives + 1}, but the image tokenizer in ${join(dir, 'image-tokenizer')} gives ${gives} (a semantic encoder adds a leading position: is image-tokenizer/semantic/ missing?)`);
  }, 60_000);
});
