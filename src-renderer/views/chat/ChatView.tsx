export function ChatView({ arg }: { arg: string | null }) { return <div>{arg}</div>; }
