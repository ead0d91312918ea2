/**
 * `outpost model inspect|optimize|evaluate|compress`: model packaging on local files. Unlike `outpost models ...`
 * these never talk to a control center; they read and write files only.
 */
import { basename, resolve } from 'node:path'
import {
  CALIBRATION_METHODS,
  type CalibrationMethodName,
  type ModelCard,
  OPTIMIZATION_RECIPES,
  type OptimizationRecipe,
} from '../../src-shared/contract/packagingContract.ts'
import type { EvaluationResult, ReleaseGate } from '../../src-shared/domain/evaluation.ts'
import type { TensorInfo } from '../../src-shared/domain/model.ts'
import type { ModelInspection } from '../../src-shared/domain/modelInspection.ts'
import { readProductVersion } from '../adapters/fs/readProductVersion.ts'
import { compressArtifactFile } from '../adapters/modelformats/compressArtifact.ts'
import { inspectModelFile } from '../adapters/modelformats/inspectFile.ts'
import { evaluateModelFiles, optimizeModelFile, updateCardEvaluation } from '../adapters/packaging/packageFiles.ts'
import { recipeOptionProblem } from '../adapters/packaging/runRecipe.ts'
import { cardEvaluationOf } from '../core/modelcard/cardEvaluation.ts'
import type { CliContext } from './cliContext.ts'
import { parseCommandLine, parseCount, UsageError } from './flags.ts'
import { formatBytes, formatMs, formatPairs, formatTable } from './formatTable.ts'
import { usage } from './usage.ts'

const MAX_TIMED_RUNS = 10_000
/** The text output lists this many operator rows; --json has them all. */
const MAX_OPERATOR_ROWS = 40

function help(context: CliContext, text: string): number {
  context.stdout(text)
  return 0
}

function onePath(positionals: readonly string[], command: string, what: string): string {
  if (positionals.length !== 1) throw new UsageError(`Pass one ${what}; run \`outpost model ${command} --help\``)
  return positionals[0] ?? ''
}

function tensorText(tensor: TensorInfo): string {
  return `${tensor.name} ${tensor.elementType} [${tensor.shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`
}

function ratioText(value: number): string {
  return `${value.toFixed(value < 10 ? 3 : 1)}x`
}

function percentText(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? '-' : `${(fraction * 100).toFixed(2)}%`
}

function numberText(value: number): string {
  if (value === 0) return '0'
  const magnitude = Math.abs(value)
  return magnitude >= 1e-3 && magnitude < 1e6 ? value.toPrecision(4).replace(/\.?0+$/, '') : value.toExponential(3)
}

/** `outpost model inspect FILE` */
export async function runModelInspect(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('model inspect', args, { json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.modelInspect)
  const file = resolve(context.cwd, onePath(positionals, 'inspect', 'model file'))
  const inspection = await inspectModelFile(file)
  context.stdout(values.json ? JSON.stringify(inspection, null, 2) : inspectionText(basename(file), inspection))
  return 0
}

export function inspectionText(fileName: string, inspection: ModelInspection): string {
  const opsets = Object.entries(inspection.opsets)
    .map(([domain, version]) => `${domain === '' ? 'ai.onnx' : domain} ${version}`)
    .join(', ')
  const producer = [inspection.producerName, inspection.producerVersion].filter((part) => part !== null && part !== '').join(' ')
  const lines = [
    formatPairs([
      ['file', `${fileName} (${inspection.format}, ${formatBytes(inspection.sizeBytes)})`],
      [inspection.format === 'onnx' ? 'IR version' : 'schema', String(inspection.formatVersion)],
      ['opsets', opsets === '' ? '-' : opsets],
      ['producer', producer === '' ? '-' : producer],
      ['nodes', `${inspection.nodeCount} (${inspection.subgraphCount} subgraph${inspection.subgraphCount === 1 ? '' : 's'})`],
      ['parameters', `${inspection.parameterCount} (${formatBytes(inspection.parameterBytes)})`],
      ...inspection.metadata.slice(0, 20).map(({ key, value }) => [`metadata ${key}`, value.slice(0, 120)] as const),
    ]),
    '',
    'Inputs',
    ...inspection.inputs.map((tensor) => `  ${tensorText(tensor)}`),
    'Outputs',
    ...inspection.outputs.map((tensor) => `  ${tensorText(tensor)}`),
    '',
    formatTable(
      ['DTYPE', 'PARAMETERS', 'BYTES'],
      inspection.parametersByDtype.map((bucket) => [bucket.dtype, String(bucket.count), formatBytes(bucket.bytes)]),
    ),
    '',
    formatTable(
      ['OPERATOR', 'DOMAIN', 'GRAPH', 'COUNT'],
      [...inspection.opHistogram]
        .sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType))
        .slice(0, MAX_OPERATOR_ROWS)
        .map((op) => [op.opType, op.domain === '' ? 'ai.onnx' : op.domain, op.path, String(op.count)]),
    ),
  ]
  if (inspection.opHistogram.length > MAX_OPERATOR_ROWS) lines.push(`  ... ${inspection.opHistogram.length - MAX_OPERATOR_ROWS} more rows (--json lists all)`)
  lines.push('', `custom ops     ${inspection.customOps.length === 0 ? 'none' : inspection.customOps.map((op) => `${op.domain}.${op.opType} x${op.count}${op.definedByModelFunction ? ' (model function)' : ''}`).join(', ')}`)
  lines.push(`external data  ${inspection.externalDataFiles.length === 0 ? 'none' : inspection.externalDataFiles.map((file) => `${file.location} (${formatBytes(file.sizeBytes)}, ${file.tensorCount} tensors)`).join(', ')}`)
  for (const warning of inspection.warnings) lines.push(`warning: ${warning}`)
  return lines.join('\n')
}

function parseRecipe(value: string | undefined): OptimizationRecipe {
  if (value === undefined) throw new UsageError(`Choose a recipe with --recipe ${OPTIMIZATION_RECIPES.join('|')}`)
  if (!(OPTIMIZATION_RECIPES as readonly string[]).includes(value)) {
    throw new UsageError(`Unknown recipe '${value}'; choose one of ${OPTIMIZATION_RECIPES.join(', ')}`)
  }
  return value as OptimizationRecipe
}

function parseMethod(value: string | undefined): CalibrationMethodName | undefined {
  if (value === undefined) return undefined
  if (!(CALIBRATION_METHODS as readonly string[]).includes(value)) {
    throw new UsageError(`Unknown calibration method '${value}'; choose one of ${CALIBRATION_METHODS.join(', ')}`)
  }
  return value as CalibrationMethodName
}

/** `outpost model optimize FILE --recipe R -o OUT` */
export async function runModelOptimize(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'model optimize',
    args,
    {
      recipe: { type: 'string' },
      calibration: { type: 'string' },
      method: { type: 'string' },
      'per-channel': { type: 'boolean' },
      out: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    },
    true,
  )
  if (values.help) return help(context, usage.modelOptimize)
  const source = resolve(context.cwd, onePath(positionals, 'optimize', 'model file'))
  const recipe = parseRecipe(values.recipe)
  const method = parseMethod(values.method)
  if (values.out === undefined) throw new UsageError('Name the output file with -o OUT')
  const problem = recipeOptionProblem(recipe, { method, perChannel: values['per-channel'], hasCalibration: values.calibration !== undefined })
  if (problem !== undefined) throw new UsageError(`${problem}; run \`outpost model optimize --help\``)
  const result = await optimizeModelFile(source, resolve(context.cwd, values.out), {
    recipe,
    method,
    perChannel: values['per-channel'] === true,
    calibrationPath: values.calibration === undefined ? undefined : resolve(context.cwd, values.calibration),
    toolVersion: readProductVersion(),
    createdAt: new Date().toISOString(),
  })
  if (values.json) context.stdout(JSON.stringify(result, null, 2))
  else context.stdout(optimizeText(result.outputPath, result.cardPath, result.card))
  return 0
}

function optimizeText(outputPath: string, cardPath: string, card: ModelCard): string {
  const { metrics, report } = card
  const lines = [
    `Wrote ${outputPath} (${card.recipe}${card.options.method === null ? '' : `, ${card.options.method}`}${card.options.perChannel ? ', per-channel' : ''})`,
    `  size   ${formatBytes(metrics.sourceSizeBytes)} -> ${formatBytes(metrics.outputSizeBytes)} (${ratioText(metrics.sizeRatio)})`,
    `  nodes  ${metrics.sourceNodeCount} -> ${metrics.outputNodeCount}`,
  ]
  if (card.recipe === 'int8-dynamic' || card.recipe === 'int8-static') {
    lines.push(`  quantized ${report.quantizedNodeCount} node(s), kept ${report.skippedNodeCount} in float`)
    for (const skipped of report.skippedNodes.slice(0, 5)) lines.push(`    kept ${skipped.node} (${skipped.opType}): ${skipped.reason}`)
  }
  if (card.calibration !== null) lines.push(`  calibration ${card.calibration.name}: ${card.calibration.sampleCount} samples, sha256 ${card.calibration.sha256}`)
  lines.push(`Model card ${cardPath}`)
  return lines.join('\n')
}

/** A fraction from a flag: 0.99, or 99% for the same. */
function parseFraction(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const isPercent = value.endsWith('%')
  const number = Number(isPercent ? value.slice(0, -1) : value)
  const fraction = isPercent ? number / 100 : number
  if (value.trim() === '' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    throw new UsageError(`--${flag} must be a fraction from 0 to 1 (or a percentage such as 99%), not '${value}'`)
  }
  return fraction
}

/** `outpost model evaluate --baseline A --candidate B --inputs PATH` */
export async function runModelEvaluate(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(
    'model evaluate',
    args,
    {
      baseline: { type: 'string' },
      candidate: { type: 'string' },
      inputs: { type: 'string' },
      labels: { type: 'string' },
      runs: { type: 'string' },
      'min-agreement': { type: 'string' },
      'max-accuracy-drop': { type: 'string' },
      'update-card': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    false,
  )
  if (values.help) return help(context, usage.modelEvaluate)
  for (const flag of ['baseline', 'candidate', 'inputs'] as const) {
    if (values[flag] === undefined) throw new UsageError(`Missing --${flag}; run \`outpost model evaluate --help\``)
  }
  const minAgreement = parseFraction(values['min-agreement'], 'min-agreement')
  const maxAccuracyDrop = parseFraction(values['max-accuracy-drop'], 'max-accuracy-drop')
  const gate: ReleaseGate = {
    ...(minAgreement === undefined ? {} : { minAgreement }),
    ...(maxAccuracyDrop === undefined ? {} : { maxAccuracyDrop }),
  }
  const candidatePath = resolve(context.cwd, values.candidate ?? '')
  const evaluation = await evaluateModelFiles({
    baselinePath: resolve(context.cwd, values.baseline ?? ''),
    candidatePath,
    inputsPath: resolve(context.cwd, values.inputs ?? ''),
    labelsPath: values.labels === undefined ? undefined : resolve(context.cwd, values.labels),
    timedRuns: values.runs === undefined ? undefined : parseCount(values.runs, 'runs', 1, MAX_TIMED_RUNS),
    gate,
  })
  let cardPath: string | undefined
  if (values['update-card']) {
    const verdict = cardEvaluationOf({
      evaluatedAt: new Date().toISOString(),
      baselineSha256: evaluation.baselineSha256,
      inputsSha256: evaluation.inputs.sha256,
      gate,
      result: evaluation.result,
      readiness: evaluation.readiness,
    })
    cardPath = await updateCardEvaluation(candidatePath, verdict, evaluation.candidateSha256)
  }
  if (values.json) {
    context.stdout(JSON.stringify({ ...evaluation, gate, ...(cardPath === undefined ? {} : { cardPath }) }, null, 2))
  } else {
    context.stdout(evaluationText(basename(values.baseline ?? ''), basename(candidatePath), evaluation.result, evaluation.readiness, evaluation.inputs.name))
    if (cardPath !== undefined) context.stdout(`Recorded the verdict in ${cardPath}`)
  }
  // A completed evaluation exits 0 whatever the verdict: the verdict is a result, not a failure (see --help).
  return 0
}

export function evaluationText(
  baselineName: string,
  candidateName: string,
  result: EvaluationResult,
  readiness: { isReleaseReady: boolean; reasons: readonly string[] },
  inputsName: string,
): string {
  const lines = [
    formatTable(
      ['MODEL', 'FILE', 'SIZE', 'P50 MS', 'P95 MS', 'RUNS'],
      [
        ['baseline', baselineName, formatBytes(result.baseline.sizeBytes), formatMs(result.baseline.latency.p50Ms), formatMs(result.baseline.latency.p95Ms), String(result.baseline.latency.runs)],
        ['candidate', candidateName, formatBytes(result.candidate.sizeBytes), formatMs(result.candidate.latency.p50Ms), formatMs(result.candidate.latency.p95Ms), String(result.candidate.latency.runs)],
      ],
    ),
    `size ratio ${ratioText(result.sizeRatio)}, p50 latency ratio ${ratioText(result.latencyP50Ratio)}, ${result.sampleCount} samples from ${inputsName}`,
    '',
    formatTable(
      ['OUTPUT', 'MAX ABS ERR', 'MEAN ABS ERR', 'COSINE', 'AGREEMENT'],
      result.outputs.map((output) => [
        output.name,
        numberText(output.maxAbsError),
        numberText(output.meanAbsError),
        output.cosineSimilarity.toFixed(6),
        output.agreement === null ? '-' : `${percentText(output.agreement)} (${output.decisionKind})`,
      ]),
    ),
    '',
    `top-1 agreement  ${percentText(result.top1Agreement)}`,
  ]
  if (result.accuracy !== null) {
    const { accuracy } = result
    lines.push(`accuracy         ${percentText(accuracy.baseline)} -> ${percentText(accuracy.candidate)} (drop ${(accuracy.drop * 100).toFixed(2)} points, ${accuracy.labelCount} labels)`)
  }
  lines.push(`verdict          ${readiness.isReleaseReady ? 'release-ready' : 'NOT release-ready'}`)
  for (const reason of readiness.reasons) lines.push(`  - ${reason}`)
  return lines.join('\n')
}

/** `outpost model compress FILE [-o OUT]` */
export async function runModelCompress(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('model compress', args, { out: { type: 'string', short: 'o' }, json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.modelCompress)
  const source = resolve(context.cwd, onePath(positionals, 'compress', 'model file'))
  const outputPath = resolve(context.cwd, values.out ?? `${source}.br`)
  const result = await compressArtifactFile(source, outputPath)
  if (values.json) context.stdout(JSON.stringify({ outputPath, ...result }, null, 2))
  else {
    context.stdout(
      `Wrote ${outputPath}: ${result.algorithm}, ${formatBytes(result.originalSizeBytes)} -> ${formatBytes(result.compressedSizeBytes)} (ratio ${result.ratio.toFixed(3)}, ${((1 - result.ratio) * 100).toFixed(1)}% smaller)`,
    )
  }
  return 0
}
