import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { formatBytes } from '../../lib/format.ts'
import type { ModelFile } from '../../store/modelsSlice.ts'
import { useAppStore } from '../../store/StoreContext.tsx'

/** The file picker, optional name and version, and the state of the last upload. Drops land here too. */
export interface ImportLabel {
  name: string
  version: string
}

interface ImportPanelProps {
  label: ImportLabel
  onLabelChange: (label: ImportLabel) => void
  onFile: (file: ModelFile) => void
}

export function ImportPanel({ label, onLabelChange, onFile }: ImportPanelProps) {
  const upload = useAppStore((state) => state.upload)
  const isBusy = upload.status === 'reading' || upload.status === 'uploading'
  return (
    <section className="panel" aria-labelledby="import-heading">
      <h2 id="import-heading">Import a model</h2>
      <p className="muted">Choose an .onnx file or drop it anywhere on this page. It is checked by loading it before it is stored.</p>
      <div className="form-row">
        <label>
          <span>
            Name <span className="muted">(optional)</span>
          </span>
          <input type="text" value={label.name} maxLength={128} onChange={(event) => onLabelChange({ ...label, name: event.target.value })} />
        </label>
        <label>
          <span>
            Version <span className="muted">(optional)</span>
          </span>
          <input type="text" value={label.version} maxLength={64} onChange={(event) => onLabelChange({ ...label, version: event.target.value })} />
        </label>
        <label className="file-button">
          <span>Choose file…</span>
          <input
            type="file"
            accept=".onnx"
            data-testid="model-file-input"
            disabled={isBusy}
            onChange={(event) => {
              const file = event.target.files?.[0]
              // Cleared so choosing the same file again still fires a change.
              event.target.value = ''
              if (file) onFile(file)
            }}
          />
        </label>
      </div>
      <div className="upload-status" data-testid="upload-status" aria-live="polite">
        {isBusy && (
          <p>
            {upload.status === 'reading' ? 'Reading' : 'Uploading and checking'} {upload.fileName} ({formatBytes(upload.sizeBytes)})…{' '}
            <progress aria-label="Import in progress" />
          </p>
        )}
        {upload.status === 'done' && (
          <p className="success">
            Imported <strong>{`${upload.model.name}@${upload.model.version}`}</strong> (<code>{upload.model.modelId}</code>).
          </p>
        )}
        {upload.status === 'failed' && (
          <>
            <p>Could not import {upload.fileName}.</p>
            <ErrorNotice error={upload.error} />
          </>
        )}
      </div>
    </section>
  )
}
