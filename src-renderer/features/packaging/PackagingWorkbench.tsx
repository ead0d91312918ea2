import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { ComparePanel } from './ComparePanel.tsx'
import { InspectPanel } from './InspectPanel.tsx'
import { OptimizePanel } from './OptimizePanel.tsx'
import './packaging.css'

const titles = { inspect: 'Inspect', optimize: 'Optimize', compare: 'Compare' } as const

/** The open packaging tool (from a model row's buttons): inspection, optimize form, or baseline comparison. */
export function PackagingWorkbench({ models }: { models: ModelSummary[] }) {
  const tool = useAppStore((state) => state.packagingTool)
  const openPackagingTool = useAppStore((state) => state.openPackagingTool)
  if (tool === null) return null
  const modelId = tool.kind === 'compare' ? tool.candidateId : tool.modelId
  const model = models.find((candidate) => candidate.modelId === modelId)
  if (model === undefined) return null
  return (
    <section className="panel packaging-workbench" aria-labelledby="packaging-heading" data-testid="packaging-workbench">
      <header className="workbench-header">
        <h2 id="packaging-heading">
          {titles[tool.kind]} · {model.name}@{model.version}
        </h2>
        <div className="tabs" role="group" aria-label="Packaging tools">
          {(['inspect', 'optimize', 'compare'] as const).map((kind) => (
            <button
              key={kind}
              type="button"
              aria-pressed={tool.kind === kind}
              disabled={kind !== 'inspect' && model.format !== 'onnx'}
              onClick={() => openPackagingTool(kind === 'compare' ? { kind, candidateId: model.modelId } : { kind, modelId: model.modelId })}
            >
              {titles[kind]}
            </button>
          ))}
          <button type="button" data-testid="packaging-close" aria-label="Close the packaging tools" onClick={() => openPackagingTool(null)}>
            Close
          </button>
        </div>
      </header>
      {tool.kind === 'inspect' && <InspectPanel key={model.modelId} model={model} />}
      {tool.kind === 'optimize' && <OptimizePanel key={model.modelId} model={model} />}
      {tool.kind === 'compare' && <ComparePanel key={`${model.modelId}:${tool.baselineId ?? ''}`} candidate={model} models={models} initialBaselineId={tool.baselineId} />}
    </section>
  )
}
