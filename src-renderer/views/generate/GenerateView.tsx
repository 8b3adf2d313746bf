export function GenerateView() { return <div>GenerateView{String('')}</div>; }
