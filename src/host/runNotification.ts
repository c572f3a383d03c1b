// A run's cancellable progress notification, shown only once the run has lasted QUIET_RUN_MS: quick
// runs finish without one (the panel's busy line shows their progress; `ViT Lens: Cancel` and closing
// the panel cancel them).
import * as vscode from 'vscode';
import { QUIET_RUN_MS } from '../shared/panelProtocol';

export interface RunNotification {
  /** The run reached `stage`, `fraction` (0..1) of the way; shown now or when the notification appears. */
  report(stage: string, fraction: number): void;
  /** The run ended (result, error or cancel): no notification from now on, and the shown one closes. */
  done(): void;
}

export function delayedRunNotification(title: string, onCancel: () => void, delayMs = QUIET_RUN_MS): RunNotification {
  let stage = '';
  let fraction = 0;
  let shownFraction = 0;
  let progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const show = () => {
    if (!progress) return;
    progress.report({ message: stage, increment: Math.max(0, (fraction - shownFraction) * 100) });
    shownFraction = Math.max(shownFraction, fraction);
  };
  const timer = setTimeout(() => {
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (p, token) => {
      token.onCancellationRequested(onCancel);
      progress = p;
      show();
      return finished;
    });
  }, delayMs);
  return {
    report(s, f) {
      stage = s;
      fraction = f;
      show();
    },
    done() {
      clearTimeout(timer);
      finish();
    },
  };
}
