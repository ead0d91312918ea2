import type { ModelCard, ModelEvaluation } from '../../src-shared/contract/packagingContract.ts'

/** Model cards and latest evaluations of stored models, addressed by the model's sha256. */
export interface ModelCardStore {
  /** Undefined when the model has no card (imported as is). Throws 'artifact-corrupt' for a damaged card file. */
  readCard(sha256: string): Promise<ModelCard | undefined>
  /** Writes atomically, replacing any card of the same model. */
  writeCard(sha256: string, card: ModelCard): Promise<void>
  /** The latest evaluation with this model as candidate. Throws 'artifact-corrupt' for a damaged file. */
  readEvaluation(sha256: string): Promise<ModelEvaluation | undefined>
  writeEvaluation(sha256: string, evaluation: ModelEvaluation): Promise<void>
}
