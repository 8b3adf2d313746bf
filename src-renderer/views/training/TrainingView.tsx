export function TrainingView({ arg }: { arg: string | null }) { return <div>{arg}</div>; }
