import { useEffect, useRef, useState } from 'react'
import { ErrorNotice } from '../../components/ErrorNotice.tsx'
import { useAppStore } from '../../store/StoreContext.tsx'
import type { BundleFile } from './releasesSlice.ts'

/** A File from a folder picker: the browser sets webkitRelativePath to FOLDER/inner/path. */
function toBundleFile(file: File): BundleFile {
  return { relativePath: file.webkitRelativePath || file.name, size: file.size, arrayBuffer: () => file.arrayBuffer() }
}

/** Import by a path on the control center's machine, or by choosing the bundle folder in the browser. */
export function ImportReleasePanel({ isTrustConfigured }: { isTrustConfigured: boolean }) {
  const importState = useAppStore((state) => state.releaseImport)
  const importFromPath = useAppStore((state) => state.importReleaseFromPath)
  const uploadBundle = useAppStore((state) => state.uploadReleaseBundle)
  const [path, setPath] = useState('')
  const folderInput = useRef<HTMLInputElement>(null)
  const isBusy = importState.status === 'running'
  useEffect(() => {
    // React has no typed prop for folder pickers; every current browser and Electron honour these attributes.
    folderInput.current?.setAttribute('webkitdirectory', '')
    folderInput.current?.setAttribute('directory', '')
  }, [])
  const disabled = isBusy || !isTrustConfigured
  return (
    <section className="panel" aria-labelledby="release-import-heading">
      <h2 id="release-import-heading">Import a release bundle</h2>
      <p className="muted">
        A bundle is the folder written by <code>outpost release create</code> and signed with <code>outpost release sign</code>. Every file
        is checked against the signed manifest before it is kept; a bundle short of its signatures is kept as pending.
      </p>
      <form
        className="form-row"
        onSubmit={(event) => {
          event.preventDefault()
          const trimmed = path.trim()
          if (trimmed !== '') void importFromPath(trimmed)
        }}
      >
        <label>
          <span>
            Bundle folder on the control center <span className="muted">(such as /srv/releases/vad-2.3.0)</span>
          </span>
          <input
            type="text"
            data-testid="release-import-path"
            value={path}
            maxLength={4096}
            onChange={(event) => setPath(event.target.value)}
          />
        </label>
        <button type="submit" data-testid="release-import-submit" disabled={disabled || path.trim() === ''}>
          Import
        </button>
        <label className="file-button">
          <span>Upload folder…</span>
          <input
            ref={folderInput}
            type="file"
            multiple
            data-testid="release-upload-input"
            disabled={disabled}
            onChange={(event) => {
              const files = [...(event.target.files ?? [])].map(toBundleFile)
              event.target.value = ''
              if (files.length > 0) void uploadBundle(files)
            }}
          />
        </label>
      </form>
      <div className="upload-status" data-testid="release-import-status" aria-live="polite">
        {isBusy && (
          <p>
            Checking {importState.source}… <progress aria-label="Import in progress" />
          </p>
        )}
        {importState.status === 'done' && (
          <p className="success">
            Imported <strong>{`${importState.release.modelId} #${importState.release.releaseCounter}`}</strong> ({importState.release.version}).
          </p>
        )}
        {importState.status === 'failed' && (
          <>
            <p>Could not import {importState.source}.</p>
            <ErrorNotice error={importState.error} />
          </>
        )}
      </div>
    </section>
  )
}
