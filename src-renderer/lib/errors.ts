// Turns whatever failed (an API error `{name, message}`, a dropped connection, a bug) into one plain
// sentence for the person and a details block for the curious.

export class ApiError extends Error {
  constructor(name: string, message: string, readonly method?: string, readonly status?: number) {
    super(message);
    this.name = name;
  }
}

const sentences: Record<string, string> = {
  ValidationError: 'The request was not accepted because some values are not valid.',
  NotFound: 'That item no longer exists. It may have been deleted.',
  NotFoundError: 'That item no longer exists. It may have been deleted.',
  Conflict: 'That action conflicts with the current state. Refresh and try again.',
  ConflictError: 'That action conflicts with the current state. Refresh and try again.',
  Unauthorized: 'This window is not authorised to talk to Tessera. Open the link printed by `tessera serve` again.',
  NoModel: 'No model is installed yet. Import one in Models, or train one.',
  NoModelError: 'No model is installed yet. Import one in Models, or train one.',
  ProviderUnavailable: 'The requested execution provider is not available on this machine.',
  Disconnected: 'Lost the connection to the Tessera backend. It will reconnect when it comes back.',
  AbortError: 'Stopped.',
};

export interface Described { sentence: string; hint?: string; details: string }

/** The backend's messages are written for people: show them, with a general hint for known kinds. */
export function describeError(error: unknown): Described {
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return { sentence: sentences.Disconnected, details: error.message };
  }
  if (error instanceof Error) {
    const e = error as ApiError;
    const hint = sentences[e.name];
    const where = `${e.name}${e.method ? ` in ${e.method}` : ''}${e.status ? ` (HTTP ${e.status})` : ''}`;
    return {
      sentence: capitalise(e.message || hint || 'Something went wrong'),
      hint: hint && e.message ? hint : undefined,
      details: [where, e.stack ?? ''].filter(Boolean).join('\n'),
    };
  }
  if (error && typeof error === 'object' && 'message' in error) {
    const o = error as { name?: string; message: string };
    return describeError(new ApiError(o.name ?? 'Error', o.message));
  }
  return { sentence: 'Something went wrong.', details: String(error) };
}

function capitalise(s: string): string {
  const t = s.trim();
  const c = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(c) ? c : `${c}.`;
}
