// One-click recipes: each recipe as a card; picking one shows its essential settings with good
// defaults (dataset, base model) and an advanced panel with every other field.
import { useMemo, useState } from 'react';
import type { RecipeInfo } from '../../../src-main/contract/api.ts';
import { useAction, useQuery } from '../../api/hooks.ts';
import { api } from '../../api/transport.ts';
import { ErrorView } from '../../components/ErrorView.tsx';
import { Icon } from '../../components/Icon.tsx';
import { getPath, setPath } from '../../lib/paths.ts';
import { ConfigFields } from './ConfigFields.tsx';

export function NewRun({ onStarted }: { onStarted: (runId: number) => void }) {
  const recipes = useQuery('training.recipes', {});
  const [name, setName] = useState<string | null>(null);
  const list = recipes.data?.recipes ?? [];
  const recipe = list.find((r) => r.name === name) ?? null;
  return (
    <div className="view-body stack">
      {recipes.error != null && <ErrorView error={recipes.error} onRetry={recipes.reload} />}
      <div className="recipe-cards" role="radiogroup" aria-label="Recipes">
        {list.map((r) => (
          <button key={r.name} role="radio" aria-checked={r.name === name} className="recipe-card" onClick={() => setName(r.name)} data-recipe={r.name}>
            <span className="title">{r.title}</span>
            <span className="desc">{r.description}</span>
            <span className="row">
              {r.needsDataset && <span className="badge neutral">dataset</span>}
              {r.needsBaseModel && <span className="badge neutral">base model</span>}
            </span>
          </button>
        ))}
      </div>
      {recipe && <RecipeForm key={recipe.name} recipe={recipe} onStarted={onStarted} />}
    </div>
  );
}

function RecipeForm({ recipe, onStarted }: { recipe: RecipeInfo; onStarted: (runId: number) => void }) {
  const datasets = useQuery('datasets.list', recipe.needsDataset ? {} : null);
  const models = useQuery('models.list', recipe.needsBaseModel ? {} : null);
  const [config, setConfig] = useState<Record<string, unknown>>(() => structuredClone(recipe.defaults));
  const [datasetId, setDatasetId] = useState<number | null>(null);
  const [modelId, setModelId] = useState<number | null>(null);
  const ds = datasets.data?.datasets ?? [];
  const ms = models.data?.models ?? [];
  const dsId = datasetId ?? ds[0]?.id ?? null;
  const mId = modelId ?? ms[0]?.id ?? null;
  // only the fields the user changed go to the backend, which merges them over the defaults
  const changed = useMemo(() => recipe.fields.reduce<Record<string, unknown>>((acc, f) => {
    const v = getPath(config, f.key);
    return v !== undefined && JSON.stringify(v) !== JSON.stringify(getPath(recipe.defaults, f.key)) ? setPath(acc, f.key, v) : acc;
  }, {}), [config, recipe]);
  const nChanged = recipe.fields.filter((f) => JSON.stringify(getPath(config, f.key)) !== JSON.stringify(getPath(recipe.defaults, f.key))).length;
  const start = useAction(async () => {
    const r = await api.call('training.start', {
      recipe: recipe.name, config: changed,
      datasetId: recipe.needsDataset ? dsId ?? undefined : undefined,
      baseModelId: recipe.needsBaseModel ? mId ?? undefined : undefined,
    });
    onStarted(r.run.id);
  });
  const missing = (recipe.needsDataset && dsId == null) || (recipe.needsBaseModel && mId == null);
  const basic = recipe.fields.filter((f) => !f.advanced);
  const advanced = recipe.fields.filter((f) => f.advanced);
  return (
    <form className="card stack recipe-form" onSubmit={(e) => { e.preventDefault(); if (!missing) void start.run(); }}>
      <div className="card-head"><h2>{recipe.title}</h2></div>
      <div className="field-row">
        {recipe.needsDataset && (
          <div className="field">
            <label htmlFor="run-dataset">Dataset</label>
            <select id="run-dataset" value={dsId ?? ''} onChange={(e) => setDatasetId(Number(e.target.value))}>
              {ds.map((d) => <option key={d.id} value={d.id}>{d.name} ({d.total})</option>)}
            </select>
            {ds.length === 0 && !datasets.loading && <span className="hint">Import a dataset first.</span>}
          </div>
        )}
        {recipe.needsBaseModel && (
          <div className="field">
            <label htmlFor="run-model">Base model</label>
            <select id="run-model" value={mId ?? ''} onChange={(e) => setModelId(Number(e.target.value))}>
              {ms.map((m) => <option key={m.id} value={m.id}>{m.name}</option>)}
            </select>
            {ms.length === 0 && !models.loading && <span className="hint">No model installed yet.</span>}
          </div>
        )}
        <ConfigFields fields={basic} values={config} onChange={setConfig} />
      </div>
      {advanced.length > 0 && (
        <details className="advanced">
          <summary>Advanced ({advanced.length} settings)</summary>
          <div className="field-row"><ConfigFields fields={advanced} values={config} onChange={setConfig} /></div>
          <button type="button" className="btn small ghost" onClick={() => setConfig(structuredClone(recipe.defaults))}>Reset to defaults</button>
        </details>
      )}
      <div className="row">
        <button className="btn primary" type="submit" disabled={missing || start.pending}><Icon name="play" />Start training</button>
        {nChanged > 0 && <span className="faint">{nChanged} setting{nChanged === 1 ? '' : 's'} changed from the defaults</span>}
      </div>
      {start.error != null && <ErrorView error={start.error} />}
    </form>
  );
}
