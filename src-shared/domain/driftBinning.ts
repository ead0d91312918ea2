/**
 * Counting into a release's signed reference bins, shared by the agent (which counts) and the control center (which
 * compares). Pure and environment-neutral: no raw value ever leaves a device, only these counts.
 */
import type { DriftBinnedFeature, DriftFeatureSource, DriftReference } from './drift.ts'

/**
 * The bin of `value`: the number of edges <= value (binary search). Bin 0 is v < edges[0]; the last bin is
 * v >= edges[edges.length - 1]; -Infinity and +Infinity land in the outer bins. NaN returns -1 (not counted).
 */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  if (Number.isNaN(value)) return -1
  let low = 0
  let high = edges.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((edges[mid] as number) <= value) low = mid + 1
    else high = mid
  }
  return low
}

/** Counts `values` into the edges.length + 1 bins of `edges` (see binIndex); NaN values are skipped. */
export function countIntoBins(edges: ArrayLike<number>, values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0)
  addIntoBins(counts, edges, values)
  return counts
}

/** Adds `values` into existing `counts` (length edges.length + 1), so a device can count batch after batch. */
export function addIntoBins(counts: number[], edges: ArrayLike<number>, values: Iterable<number>): void {
  for (const value of values) {
    const index = binIndex(edges, value)
    if (index >= 0) counts[index] = (counts[index] ?? 0) + 1
  }
}

/** A tensor as the runtime hands it over: dims[0] is the batch, data is row-major. */
export interface BatchTensor {
  dims: readonly number[]
  data: ArrayLike<number>
}

/**
 * One value per sample of a batch for `source`, or undefined when the tensor it names is absent or too small for
 * it (the counts for that feature are then left out, never guessed). `inputs` and `outputs` are keyed by name.
 */
export function featureValues(
  source: DriftFeatureSource,
  inputs: Readonly<Record<string, BatchTensor>>,
  outputs: Readonly<Record<string, BatchTensor>>,
): number[] | undefined {
  const tensor = source.kind === 'argmax' || source.kind === 'score' ? outputs[source.output] : inputs[source.kind === 'column' ? source.column : source.input]
  if (!tensor) return undefined
  const batch = tensor.dims.length === 0 ? 1 : (tensor.dims[0] ?? 0)
  if (batch <= 0) return []
  const perSample = Math.floor(tensor.data.length / batch)
  if (perSample === 0) return undefined
  const values: number[] = []
  for (let sample = 0; sample < batch; sample++) {
    const base = sample * perSample
    switch (source.kind) {
      case 'element':
        if (source.index >= perSample) return undefined
        values.push(Number(tensor.data[base + source.index]))
        break
      case 'column':
        values.push(Number(tensor.data[base]))
        break
      case 'score':
        if (source.index >= perSample) return undefined
        values.push(Number(tensor.data[base + source.index]))
        break
      case 'argmax': {
        let best = 0
        for (let i = 1; i < perSample; i++) if ((tensor.data[base + i] as number) > (tensor.data[base + best] as number)) best = i
        values.push(best)
        break
      }
      case 'channel-mean': {
        const mean = channelMean(tensor, base, perSample, source.axis, source.channel)
        if (mean === undefined) return undefined
        values.push(mean)
        break
      }
    }
  }
  return values
}

function channelMean(tensor: BatchTensor, base: number, perSample: number, axis: number, channel: number): number | undefined {
  const sampleDims = tensor.dims.slice(1)
  const axisSize = sampleDims[axis]
  if (axisSize === undefined || channel >= axisSize) return undefined
  // Row-major: the coordinate on `axis` repeats every `inner` elements and cycles every `inner * axisSize`.
  const inner = sampleDims.slice(axis + 1).reduce((product, size) => product * size, 1)
  const outer = perSample / (inner * axisSize)
  if (!Number.isInteger(outer) || outer < 1) return undefined
  let sum = 0
  for (let o = 0; o < outer; o++) {
    const start = base + (o * axisSize + channel) * inner
    for (let i = 0; i < inner; i++) sum += tensor.data[start + i] as number
  }
  return sum / (outer * inner)
}

/** Per-window drift counts as TelemetryWindow carries them (featureCounts, predictionCounts). */
export interface DriftCounts {
  featureCounts: Record<string, number[]>
  predictionCounts?: number[]
}

/** Empty counts for every feature (and the predictions) of `reference`, to add batches into. */
export function emptyDriftCounts(reference: DriftReference): DriftCounts {
  const featureCounts: Record<string, number[]> = {}
  for (const feature of reference.features) featureCounts[feature.name] = new Array<number>(feature.bin_edges.length + 1).fill(0)
  return reference.predictions
    ? { featureCounts, predictionCounts: new Array<number>(reference.predictions.bin_edges.length + 1).fill(0) }
    : { featureCounts }
}

/**
 * Adds one inference batch into `counts` (from emptyDriftCounts). Features without a `source`, or whose tensor is
 * missing, are skipped. Returns the number of samples counted for the first counted feature.
 */
export function addBatchToDriftCounts(
  counts: DriftCounts,
  reference: DriftReference,
  inputs: Readonly<Record<string, BatchTensor>>,
  outputs: Readonly<Record<string, BatchTensor>>,
): number {
  let samples = 0
  const add = (feature: DriftBinnedFeature, target: number[] | undefined) => {
    if (!feature.source || !target) return
    const values = featureValues(feature.source, inputs, outputs)
    if (!values) return
    addIntoBins(target, feature.bin_edges, values)
    if (samples === 0) samples = values.length
  }
  for (const feature of reference.features) add(feature, counts.featureCounts[feature.name])
  if (reference.predictions) add(reference.predictions, counts.predictionCounts)
  return samples
}

function canonicalSource(source: DriftFeatureSource): DriftFeatureSource {
  switch (source.kind) {
    case 'element':
      return { kind: source.kind, input: source.input, index: source.index }
    case 'channel-mean':
      return { kind: source.kind, input: source.input, axis: source.axis, channel: source.channel }
    case 'column':
      return { kind: source.kind, column: source.column }
    case 'argmax':
      return { kind: source.kind, output: source.output }
    case 'score':
      return { kind: source.kind, output: source.output, index: source.index }
  }
}

function canonicalFeature(feature: DriftBinnedFeature): DriftBinnedFeature {
  const base = { name: feature.name, bin_edges: [...feature.bin_edges], reference_counts: [...feature.reference_counts] }
  return feature.source ? { ...base, source: canonicalSource(feature.source) } : base
}

/**
 * The bytes `binsSha256` is the SHA-256 of: JSON of the parsed reference with keys in a fixed order (features, each
 * name, bin_edges, reference_counts, source; then predictions) and numbers as ECMAScript writes them. Agent and
 * control center both parse the manifest's `drift` with DriftReference and hash this, so fields a parser drops
 * cannot make them disagree.
 */
export function driftReferenceBytes(reference: DriftReference): Uint8Array {
  const canonical = reference.predictions
    ? { features: reference.features.map(canonicalFeature), predictions: canonicalFeature(reference.predictions) }
    : { features: reference.features.map(canonicalFeature) }
  return new TextEncoder().encode(JSON.stringify(canonical))
}

/** Lowercase hex SHA-256 of driftReferenceBytes; the hash function is injected (node:crypto, WebCrypto, ...). */
export function driftReferenceSha256(reference: DriftReference, sha256: (bytes: Uint8Array) => Uint8Array): string {
  let hex = ''
  for (const byte of sha256(driftReferenceBytes(reference))) hex += byte.toString(16).padStart(2, '0')
  return hex
}
