// The chat's Markdown renderer: the supported subset renders to the expected elements, and nothing
// the model writes becomes markup (no innerHTML: tags, handlers and links stay text).
import { renderToStaticMarkup } from 'react-dom/server';
import { expect, test } from 'vitest';
import { Markdown, parseBlocks } from '../../src-renderer/components/Markdown.tsx';

const html = (text: string) => renderToStaticMarkup(<Markdown text={text} />);

test('paragraphs, headings, lists, code, bold and italics', () => {
  expect(parseBlocks('# Title\n\npara one\nline two\n\n- a\n- b\n\n1. x\n2. y\n\n```ts\nconst a = 1;\n```').map((b) => b.kind)).toEqual(['h', 'p', 'ul', 'ol', 'code']);
  expect(html('a **red** *apple* and `code`')).toBe('<div class="md"><p>a <strong>red</strong> <em>apple</em> and <code>code</code></p></div>');
  expect(html('- one\n- **two**')).toBe('<div class="md"><ul><li>one</li><li><strong>two</strong></li></ul></div>');
  expect(html('```\nx < y\n```')).toBe('<div class="md"><pre><code>x &lt; y</code></pre></div>');
});

test('an unterminated code fence (mid-stream) still renders', () => {
  expect(html('look:\n```js\nlet a')).toBe('<div class="md"><p>look:</p><pre data-lang="js"><code>let a</code></pre></div>');
});

test('markup from the model stays text', () => {
  const out = html('<img src=x onerror=alert(1)> <script>alert(2)</script> [link](http://evil.example) **<b>x</b>**');
  expect(out).not.toMatch(/<img|<script|<a |<b>/);
  expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(out).toContain('[link](http://evil.example)');
});
