// Inputs for a recipe's config fields, typed by the recipe's field list (int, number, string,
// boolean, enum), with min/max and help text. Keys are dotted paths into the config ('train.lr').
import type { RecipeInfo } from '../../../src-main/contract/api.ts';
import { getPath, setPath } from '../../lib/paths.ts';

type Field = RecipeInfo['fields'][number];

export function ConfigFields({ fields, values, onChange }: { fields: Field[]; values: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void }) {
  const set = (k: string, v: unknown) => onChange(setPath(values, k, v));
  return (
    <>
      {fields.map((f) => {
        const id = `cfg-${f.key.replace(/\./g, '-')}`;
        const v = getPath(values, f.key);
        return (
          <div className="field" key={f.key}>
            <label htmlFor={id} title={f.help}>{f.label}</label>
            {f.type === 'boolean' ? (
              <input id={id} type="checkbox" checked={v === true} onChange={(e) => set(f.key, e.target.checked)} />
            ) : f.type === 'enum' ? (
              <select id={id} value={String(v ?? '')} onChange={(e) => set(f.key, e.target.value)}>
                {(f.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            ) : f.type === 'string' ? (
              <input id={id} type="text" value={String(v ?? '')} onChange={(e) => set(f.key, e.target.value)} />
            ) : (
              <input id={id} type="number" value={v == null ? '' : String(v)} min={f.min} max={f.max} step={f.type === 'int' ? 1 : 'any'}
                onChange={(e) => set(f.key, e.target.value === '' ? undefined : f.type === 'int' ? Math.round(Number(e.target.value)) : Number(e.target.value))} />
            )}
            {f.help && <span className="hint">{f.help}</span>}
          </div>
        );
      })}
    </>
  );
}
