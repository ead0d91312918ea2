import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { useAppStore } from '../../store/StoreContext.tsx'

/** The packaging buttons of one model row: open its inspection, the optimize form, or the comparison. */
export function ModelPackagingActions({ model }: { model: ModelSummary }) {
  const openPackagingTool = useAppStore((state) => state.openPackagingTool)
  const tool = useAppStore((state) => state.packagingTool)
  const isOpen = (kind: 'inspect' | 'optimize' | 'compare') =>
    tool !== null && tool.kind === kind && (tool.kind === 'compare' ? tool.candidateId : tool.modelId) === model.modelId
  const label = `${model.name}@${model.version}`
  return (
    <div className="row-actions">
      <button
        type="button"
        data-testid={`model-inspect-${model.modelId}`}
        aria-pressed={isOpen('inspect')}
        aria-label={`Inspect ${label}`}
        onClick={() => openPackagingTool({ kind: 'inspect', modelId: model.modelId })}
      >
        Inspect
      </button>
      <button
        type="button"
        data-testid={`model-optimize-${model.modelId}`}
        aria-pressed={isOpen('optimize')}
        aria-label={`Optimize ${label}`}
        disabled={model.format !== 'onnx'}
        onClick={() => openPackagingTool({ kind: 'optimize', modelId: model.modelId })}
      >
        Optimize
      </button>
      <button
        type="button"
        data-testid={`model-compare-${model.modelId}`}
        aria-pressed={isOpen('compare')}
        aria-label={`Compare ${label} with a baseline`}
        disabled={model.format !== 'onnx'}
        onClick={() => openPackagingTool({ kind: 'compare', candidateId: model.modelId })}
      >
        Compare
      </button>
    </div>
  )
}
