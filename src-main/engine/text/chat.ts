// Chat messages and the chat template (rendered with @huggingface/jinja), plus the segmentation that
// lets encodeChat tell template text from message content and find the assistant replies.
// Image contract: an image part renders as the literal placeholder `<img></img>` (two special
// tokens); the model code later inserts that image's tokens between the two. Text never turns into it.
import { Template } from '@huggingface/jinja';

export type ChatRole = 'system' | 'user' | 'assistant';
export type ContentPart = { type: 'text'; text: string } | { type: 'image' };
export interface ChatMessage {
  role: ChatRole;
  content: string | ContentPart[];
}

/** What an image part renders as; the two specials stay adjacent until the model fills them. */
export const IMAGE_PLACEHOLDER = '<img></img>';

/**
 * `<|bos|><|user|>...<|end|><|assistant|>...<|end|>`; with add_generation_prompt a final
 * `<|assistant|>`. Written verbatim into tokenizer_config.json as `chat_template`.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' }}" +
  "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}" +
  "{% if part['type'] == 'image' %}{{ '" + IMAGE_PLACEHOLDER + "' }}{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}" +
  "{{ '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

const ROLES = new Set<string>(['system', 'user', 'assistant']);

/** Throw a precise error for anything that is not a ChatMessage[]. */
export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new Error(`chat: messages must be an array, got ${typeof messages}`);
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object') throw new Error(`chat: messages[${i}] must be an object`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.has(role)) throw new Error(`chat: messages[${i}].role must be one of system|user|assistant, got ${JSON.stringify(role)}`);
    if (typeof content === 'string') return;
    if (!Array.isArray(content)) throw new Error(`chat: messages[${i}].content must be a string or an array of parts`);
    content.forEach((p, j) => {
      const t = (p as Record<string, unknown> | null)?.type;
      if (t === 'image') return;
      if (t === 'text' && typeof (p as { text?: unknown }).text === 'string') return;
      throw new Error(`chat: messages[${i}].content[${j}] must be {type:'text', text:string} or {type:'image'}, got ${JSON.stringify(p)}`);
    });
  });
}

/** One piece of a rendered conversation. */
export interface ChatSegment {
  text: string;
  /** 'template': text the template wrote (specials are parsed); 'content': message text (plain, never specials). */
  kind: 'template' | 'content';
  /** Inside an assistant reply (its content and closing `<|end|>`, not the `<|assistant|>` header). */
  assistant: boolean;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
}

export class ChatTemplate {
  private template: Template;
  constructor(readonly source: string, private tokens: { bos_token: string; eos_token: string; pad_token: string }) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new Error(`chat_template: cannot parse (${(err as Error).message})`);
    }
  }

  render(messages: ChatMessage[], opts: RenderOptions = {}): string {
    validateMessages(messages);
    return this.raw(messages, opts.addGenerationPrompt ?? false);
  }

  private raw(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    try {
      return this.template.render({ messages, add_generation_prompt: addGenerationPrompt, ...this.tokens });
    } catch (err) {
      throw new Error(`chat_template: render failed (${(err as Error).message})`);
    }
  }

  /**
   * Split the rendering into template text and message content, marking assistant replies.
   * Each text part is swapped for a private-use sentinel, the template rendered once in full and
   * once per assistant turn up to its header and up to its end; the offsets of those prefixes
   * locate the reply. Fails loudly if the template drops, repeats or rewrites content, or if its
   * renderings of shorter conversations are not prefixes of the full one.
   */
  segments(messages: ChatMessage[], opts: RenderOptions = {}): ChatSegment[] {
    validateMessages(messages);
    const texts: string[] = [];
    for (const m of messages) {
      if (typeof m.content === 'string') texts.push(m.content);
      else for (const p of m.content) if (p.type === 'text') texts.push(p.text);
    }
    let code = 0xe000;
    while (texts.some((t) => t.includes(String.fromCharCode(code))) || this.source.includes(String.fromCharCode(code))) code++;
    const S = String.fromCharCode(code);
    let k = 0;
    const sentinel = () => `${S}${k++}${S}`;
    const swapped: ChatMessage[] = messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? sentinel() : m.content.map((p) => (p.type === 'text' ? { type: 'text' as const, text: sentinel() } : p)),
    }));

    const full = this.raw(swapped, opts.addGenerationPrompt ?? false);
    const cuts = new Set<number>([0, full.length]);
    const found = new Map<number, number>(); // start offset -> text index
    const ends = new Map<number, number>();
    for (const m of full.matchAll(new RegExp(`${S}(\\d+)${S}`, 'g'))) {
      const j = Number(m[1]);
      if ([...found.values()].includes(j)) throw new Error(`chat_template: message text #${j} is rendered more than once; cannot segment`);
      found.set(m.index, j);
      ends.set(m.index, m.index + m[0].length);
      cuts.add(m.index).add(m.index + m[0].length);
    }
    if (found.size !== texts.length) throw new Error(`chat_template: rendered ${found.size} of ${texts.length} message texts; the template must emit each text exactly once, unchanged`);

    const spans: Array<[number, number]> = [];
    messages.forEach((m, i) => {
      if (m.role !== 'assistant') return;
      const start = this.raw(swapped.slice(0, i), true);
      const end = this.raw(swapped.slice(0, i + 1), false);
      if (!full.startsWith(start) || !full.startsWith(end) || end.length < start.length) {
        throw new Error(`chat_template: rendering of messages[0..${i}] is not a prefix of the whole conversation; cannot locate assistant reply ${i}`);
      }
      spans.push([start.length, end.length]);
      cuts.add(start.length).add(end.length);
    });

    const points = [...cuts].sort((a, b) => a - b);
    const out: ChatSegment[] = [];
    for (let c = 0; c + 1 < points.length; c++) {
      const a = points[c], b = points[c + 1];
      const assistant = spans.some(([s, e]) => a >= s && b <= e);
      const j = found.get(a);
      if (j !== undefined) {
        if (ends.get(a) !== b) throw new Error(`chat_template: an assistant-turn boundary falls inside message text #${j}`);
        const prev = out.at(-1);
        // Adjacent text parts are one run of text: encode them together, as the whole string would be.
        if (prev && prev.kind === 'content' && prev.assistant === assistant) prev.text += texts[j];
        else if (texts[j].length > 0) out.push({ text: texts[j], kind: 'content', assistant });
      } else {
        const text = full.slice(a, b);
        if (text.includes(S)) throw new Error('chat_template: an assistant-turn boundary falls inside a message text');
        out.push({ text, kind: 'template', assistant });
      }
    }
    return out;
  }
}
