import type { PackagingPhase } from '../../../src-shared/contract/packagingContract.ts'
import type { OperationProgress } from './packagingSlice.ts'

const phaseLabels: Record<PackagingPhase, string> = {
  loading: 'Reading the model',
  'calibration-range': 'Calibrating: measuring ranges',
  'calibration-histogram': 'Calibrating: building histograms',
  transforming: 'Rewriting the model',
  verifying: 'Loading the result in onnxruntime',
  storing: 'Storing the new model',
  evaluation: 'Comparing outputs',
  latency: 'Timing both models',
  done: 'Done',
}

/** A determinate bar fed by `packaging.progressed`, with the phase in words. */
export function OperationProgressBar({ progress, testId, label }: { progress: OperationProgress; testId: string; label: string }) {
  const percent = Math.round(progress.fraction * 100)
  return (
    <div className="operation-progress" aria-live="polite">
      <progress data-testid={testId} data-phase={progress.phase} value={progress.fraction} max={1} aria-label={label} />{' '}
      <span>
        {phaseLabels[progress.phase]} · {percent}%
      </span>
    </div>
  )
}
