// Errors as sentences a person understands, with the technical details one click away.
import { describeError } from '../lib/errors.ts';

export function ErrorView({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const { sentence, hint, details } = describeError(error);
  return (
    <div className="alert error" role="alert">
      <div className="alert-title">{title ?? sentence}</div>
      {title && <div>{sentence}</div>}
      {hint && <div className="muted">{hint}</div>}
      {details && (
        <details>
          <summary>Details</summary>
          <pre>{details}</pre>
        </details>
      )}
      {onRetry && <div><button className="btn small" onClick={onRetry}>Try again</button></div>}
    </div>
  );
}
