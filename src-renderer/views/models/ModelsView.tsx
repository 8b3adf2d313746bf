export function ModelsView() { return <div>ModelsView{String('')}</div>; }
