/** Builds model cards: the lineage of a packaged model (recipe, options, calibration set, tool, metrics). */
import { createHash } from 'node:crypto'
import { type CalibrationMethodName, type CalibrationSummary, ModelCard, type OptimizationRecipe } from '../../../src-shared/contract/packagingContract.ts'
import type { RecipeOutcome } from './runRecipe.ts'

export interface CardInput {
  createdAt: string
  toolVersion: string
  source: ModelCard['source']
  outputFileName: string
  recipe: OptimizationRecipe
  method: CalibrationMethodName | undefined
  perChannel: boolean
  calibration: CalibrationSummary | null
  outcome: RecipeOutcome
  durationMs: number
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The card of a recipe's output; validated against the shared schema so a card on disk always parses. */
export function buildModelCard(input: CardInput): ModelCard {
  const { outcome } = input
  return ModelCard.parse({
    cardVersion: 1,
    createdAt: input.createdAt,
    tool: { name: 'outpost', version: input.toolVersion.slice(0, 64) },
    source: input.source,
    output: { sha256: sha256Hex(outcome.bytes), fileName: input.outputFileName.slice(0, 256), sizeBytes: outcome.bytes.length },
    recipe: input.recipe,
    options: {
      method: input.recipe === 'int8-static' ? (input.method ?? 'minmax') : null,
      perChannel: input.perChannel,
      graphLevel: input.recipe === 'graph' ? 'extended' : null,
    },
    calibration: input.calibration,
    metrics: {
      sourceSizeBytes: input.source.sizeBytes,
      outputSizeBytes: outcome.bytes.length,
      sizeRatio: input.source.sizeBytes === 0 ? 0 : outcome.bytes.length / input.source.sizeBytes,
      sourceNodeCount: outcome.sourceNodeCount,
      outputNodeCount: outcome.outputNodeCount,
      durationMs: Math.max(0, input.durationMs),
    },
    report: outcome.report,
    evaluation: null,
  })
}
