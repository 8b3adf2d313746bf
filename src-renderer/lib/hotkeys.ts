// Keyboard shortcuts: `useHotkey('mod+enter', fn)` where mod is Ctrl (or ⌘ on macOS). Shortcuts
// with a modifier fire inside text fields; plain keys (Escape excepted) do not.
import { useEffect, useRef } from 'react';

export function matches(e: KeyboardEvent, combo: string): boolean {
  const parts = combo.toLowerCase().split('+');
  const key = parts.pop()!;
  const want = { mod: parts.includes('mod'), shift: parts.includes('shift'), alt: parts.includes('alt') };
  const mod = e.ctrlKey || e.metaKey;
  return e.key.toLowerCase() === key && mod === want.mod && e.shiftKey === want.shift && e.altKey === want.alt;
}

function inField(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

export function useHotkey(combo: string, handler: (e: KeyboardEvent) => void, enabled = true): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!enabled) return;
    const plain = !combo.includes('mod') && !combo.includes('alt') && combo.toLowerCase() !== 'escape';
    const on = (e: KeyboardEvent) => {
      if (!matches(e, combo) || (plain && inField(e))) return;
      e.preventDefault();
      ref.current(e);
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [combo, enabled]);
}
