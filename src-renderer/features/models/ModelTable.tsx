import type { ModelSummary } from '../../../src-shared/domain/model.ts'
import { formatBytes, formatRelative, formatTensor, shortSha256 } from '../../lib/format.ts'
import { ModelPackagingActions } from '../packaging/ModelPackagingActions.tsx'

export function ModelTable({ models, nowMs }: { models: ModelSummary[]; nowMs: number }) {
  return (
    <table className="table model-table" data-testid="model-table">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Version</th>
          <th scope="col">Format</th>
          <th scope="col">Size</th>
          <th scope="col">SHA-256</th>
          <th scope="col">Inputs</th>
          <th scope="col">Outputs</th>
          <th scope="col">Imported</th>
          <th scope="col">Packaging</th>
        </tr>
      </thead>
      <tbody>
        {models.map((model) => (
          <tr key={model.modelId} data-testid={`model-row-${model.modelId}`}>
            <th scope="row" data-testid="model-name" title={`${model.modelId} · ${model.sourceFileName}`}>
              {model.name}
            </th>
            <td data-testid="model-version">{model.version}</td>
            <td>{model.format}</td>
            <td className="numeric">{formatBytes(model.sizeBytes)}</td>
            <td>
              <code title={model.sha256}>{shortSha256(model.sha256)}</code>
            </td>
            <td>
              <TensorList tensors={model.inputs} />
            </td>
            <td>
              <TensorList tensors={model.outputs} />
            </td>
            <td>{formatRelative(model.importedAt, nowMs)}</td>
            <td>
              <ModelPackagingActions model={model} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function TensorList({ tensors }: { tensors: ModelSummary['inputs'] }) {
  return (
    <ul className="tensor-list">
      {tensors.map((tensor) => (
        <li key={tensor.name}>
          <code>{formatTensor(tensor)}</code>
        </li>
      ))}
    </ul>
  )
}
