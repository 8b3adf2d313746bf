// Catches a render error in one view so the rest of the app keeps working; offers a reset.
import { Component, type ReactNode } from 'react';
import { ErrorView } from './ErrorView.tsx';

interface State { error: unknown }

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey?: string }): void {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  override render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <div className="view-body">
        <ErrorView title="This view stopped working." error={this.state.error} onRetry={() => this.setState({ error: null })} />
      </div>
    );
  }
}
