// The assistant's records: chats with ordered messages and image attachments (cascade on delete,
// truncate for regenerate; the example memory an answer leaned on), and generated images with
// their sampling parameters.
import { describe, expect, it } from 'vitest';
import { checkAndClose, freshStore, sha256 } from './helpers.ts';

describe('chats', () => {
  it('appends ordered messages with attachments and cascades on delete', async () => {
    const { store } = await freshStore();
    const model = store.models.create({ name: 'm', kind: 'unified', dir: '/m' });
    const other = store.chats.create({ title: 'other' });
    const chat = store.chats.create({ title: 'apple', modelId: model.id });
    const img = { path: '/u/apple.png', sha256: sha256('apple'), width: 64, height: 64 };
    const m0 = store.chats.append(chat.id, { role: 'user', content: 'what is this?', attachments: [img] });
    const m1 = store.chats.append(chat.id, { role: 'assistant', content: 'a red apple' });
    const m2 = store.chats.append(chat.id, { role: 'user', content: 'draw a green one' });
    store.chats.append(chat.id, { role: 'assistant', content: '', attachments: [{ ...img, path: '/g/1.png' }] });
    expect([m0.ordinal, m1.ordinal, m2.ordinal]).toEqual([0, 1, 2]);
    expect(m0.attachments).toMatchObject([{ kind: 'image', path: '/u/apple.png', width: 64 }]);
    const msgs = store.chats.messages(chat.id);
    expect(msgs.map((m) => [m.role, m.content, m.attachments.map((a) => a.path)])).toEqual([
      ['user', 'what is this?', ['/u/apple.png']],
      ['assistant', 'a red apple', []],
      ['user', 'draw a green one', []],
      ['assistant', '', ['/g/1.png']],
    ]);
    // most recently active first (created later and appended to: first even within one millisecond)
    expect(store.chats.list().map((c) => c.id)).toEqual([chat.id, other.id]);
    expect(store.chats.rename(other.id, 'renamed').title).toBe('renamed');
    // an answer keeps the labelled examples it leaned on (the model's example memory); others have none
    const recalled = store.chats.append(other.id, { role: 'assistant', content: 'red apple', memory: [{ answer: 'red apple', share: 0.8 }, { answer: 'tomato', share: 0.2 }] });
    expect(store.chats.message(recalled.id).memory).toEqual([{ answer: 'red apple', share: 0.8 }, { answer: 'tomato', share: 0.2 }]);
    expect(m1.memory).toBeNull();
    expect(() => store.chats.append(other.id, { role: 'assistant', content: 'x', memory: [{ answer: 'a', share: 2 }] })).toThrow(/chats\.append: memory\[0\]\.share: Too big/);
    // a drawing drawn by example keeps which example it redrew; an empty list is stored as none
    const drawn = store.chats.append(other.id, { role: 'assistant', content: '', drawnFrom: [{ index: 0, label: 'red apple', example: 2, of: 3 }] });
    expect(store.chats.messages(other.id).find((m) => m.id === drawn.id)?.drawnFrom).toEqual([{ index: 0, label: 'red apple', example: 2, of: 3 }]);
    expect(store.chats.append(other.id, { role: 'assistant', content: 'x', drawnFrom: [] }).drawnFrom).toBeNull();
    expect(m1.drawnFrom).toBeNull();
    expect(() => store.chats.append(other.id, { role: 'assistant', content: 'x', drawnFrom: [{ index: 0, label: 'a', example: 4, of: 3 }] })).toThrow(/chats\.append: drawnFrom\[0\]: example must be at most of/);

    expect(store.chats.truncateFrom(m2.id)).toBe(2); // regenerate from message 2
    expect(store.chats.append(chat.id, { role: 'user', content: 'again' }).ordinal).toBe(2);

    expect(() => store.chats.append(chat.id, { role: 'robot' as any, content: 'x' })).toThrow(/chats\.append: role: Invalid option/);
    expect(() => store.chats.append(chat.id, { role: 'user', content: 'x', attachments: [{ ...img, sha256: 'bad' }] })).toThrow(/chats\.append: attachments\[0\]\.sha256: expected a sha256/);
    expect(() => store.chats.append(999, { role: 'user', content: 'x' })).toThrow('chats.append: chatId: chat 999 does not exist');

    store.models.delete(model.id);
    expect(store.chats.get(chat.id).modelId).toBeNull();
    expect(store.chats.delete(chat.id)).toBe(true);
    expect(store.chats.messages(chat.id)).toEqual([]);
    expect((store as any).db.raw.prepare('SELECT count(*) AS n FROM attachments').get().n).toBe(0);
    checkAndClose(store);
  });

  it('records generations with their parameters', async () => {
    const { store } = await freshStore();
    const model = store.models.create({ name: 'm', kind: 'unified', dir: '/m' });
    const g = store.generations.add({ prompt: 'a red apple', params: { seed: 42, cfg: 3, temperature: 0.9, topK: 100 }, modelId: model.id, imagePath: '/g/a.png' });
    expect(g.params).toEqual({ seed: 42, cfg: 3, temperature: 0.9, topK: 100 });
    for (let k = 0; k < 5; k++) store.generations.add({ prompt: `p${k}`, params: { seed: k, cfg: 1, temperature: 1 }, modelId: null, imagePath: `/g/${k}.png` });
    const page1 = store.generations.list({ limit: 4 });
    expect(page1.map((x) => x.prompt)).toEqual(['p4', 'p3', 'p2', 'p1']);
    expect(store.generations.list({ beforeId: page1[3].id }).map((x) => x.prompt)).toEqual(['p0', 'a red apple']);
    expect(store.generations.list({ modelId: model.id }).map((x) => x.id)).toEqual([g.id]);
    expect(() => store.generations.add({ prompt: 'x', params: { seed: 1.5, cfg: 1, temperature: 1 }, modelId: null, imagePath: '/x' })).toThrow(/generations\.add: params\.seed: .*expected int/);
    expect(() => store.generations.add({ prompt: 'x', params: { seed: 1, cfg: 1, temperature: -1 }, modelId: null, imagePath: '/x' })).toThrow('generations.add: params.temperature: expected a temperature >= 0 (got -1)');
    checkAndClose(store);
  });
});
