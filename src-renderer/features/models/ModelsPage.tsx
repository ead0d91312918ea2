import { useState, type DragEvent } from 'react'
import { useShallow } from 'zustand/react/shallow'
import { EmptyState } from '../../components/EmptyState.tsx'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useNow } from '../../lib/useNow.ts'
import { loadErrorOf } from '../../store/loadState.ts'
import type { ModelFile } from '../../store/modelsSlice.ts'
import { selectModels } from '../../store/selectors.ts'
import { useAppStore } from '../../store/StoreContext.tsx'
import { PackagingWorkbench } from '../packaging/PackagingWorkbench.tsx'
import { DeployPanel } from './DeployPanel.tsx'
import { ImportPanel, type ImportLabel } from './ImportPanel.tsx'
import { ModelTable } from './ModelTable.tsx'

const hasFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files')

export function ModelsPage() {
  const models = useAppStore(useShallow(selectModels))
  const load = useAppStore((state) => state.modelsLoad)
  const loadModels = useAppStore((state) => state.loadModels)
  const uploadModel = useAppStore((state) => state.uploadModel)
  const upload = useAppStore((state) => state.upload)
  const [isDragOver, setIsDragOver] = useState(false)
  const [label, setLabel] = useState<ImportLabel>({ name: '', version: '' })
  const nowMs = useNow(30_000)
  const loadError = loadErrorOf(load)
  const isBusy = upload.status === 'reading' || upload.status === 'uploading'

  const importFile = (file: ModelFile) => void uploadModel(file, label)

  return (
    <div
      className={`models-page${isDragOver ? ' drag-over' : ''}`}
      data-testid="models-page"
      onDragOver={(event) => {
        if (!hasFiles(event)) return
        // Without preventDefault the browser (or Electron) would open the dropped file instead.
        event.preventDefault()
        event.dataTransfer.dropEffect = isBusy ? 'none' : 'copy'
        setIsDragOver(true)
      }}
      onDragLeave={(event) => {
        if (event.currentTarget === event.target) setIsDragOver(false)
      }}
      onDrop={(event) => {
        if (!hasFiles(event)) return
        event.preventDefault()
        setIsDragOver(false)
        const file = event.dataTransfer.files[0]
        if (file && !isBusy) importFile(file)
      }}
    >
      <ImportPanel label={label} onLabelChange={setLabel} onFile={importFile} />
      {loadError && <ErrorNotice error={loadError} onRetry={() => void loadModels()} />}
      {models.length === 0 ? (
        load === 'ready' && (
          <EmptyState title="No models yet" commands={['outpost models import fixtures/models/tiny-classifier.onnx']}>
            <p>
              Drop an <code>.onnx</code> file on this page or use <strong>Choose file…</strong> above. From a terminal,
              <code> outpost models import</code> does the same; the repository's sample model is a good first try:
            </p>
          </EmptyState>
        )
      ) : (
        <section className="panel" aria-labelledby="models-heading">
          <h2 id="models-heading">Models</h2>
          <ModelTable models={models} nowMs={nowMs} />
        </section>
      )}
      <PackagingWorkbench models={models} />
      <DeployPanel models={models} />
    </div>
  )
}
