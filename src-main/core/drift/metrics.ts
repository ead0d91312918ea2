/**
 * Distances between a reference and a live histogram over the same bins. Pure. Each function takes raw counts,
 * normalizes them to shares itself, and returns NaN when either side counted nothing (callers guard on counts).
 *
 * - PSI = Σ (l_i − r_i) · ln(l_i / r_i) over shares l (live) and r (reference), where a share of exactly 0 is
 *   replaced by PSI_EPSILON = 1e-4 first (no renormalization; Evidently's convention), so an empty bin costs a
 *   large but finite amount. Natural log.
 * - Jensen-Shannon distance = sqrt((KL(r‖m) + KL(l‖m)) / 2) with m = (r + l) / 2, natural log by default: exactly
 *   scipy.spatial.distance.jensenshannon(r, l) (base=None, i.e. base e); pass base 2 to bound it by 1.
 * - Wasserstein (normalized) = W1 between the two histograms placed at their bin centres, divided by the span of
 *   the finite edges (last − first). Inner bins sit at their midpoints; the two open outer bins sit half a
 *   neighbouring bin width outside the outermost edges (mirroring the adjacent inner bin). With a single edge e the
 *   centres are e − 0.5 and e + 0.5 and the span is 1. This equals
 *   scipy.stats.wasserstein_distance(centres, centres, r, l) / span.
 */

export const PSI_EPSILON = 1e-4

function total(counts: ArrayLike<number>, offset = 0, length = counts.length - offset): number {
  let sum = 0
  for (let i = 0; i < length; i++) sum += counts[offset + i] as number
  return sum
}

/** Population stability index of live vs reference counts (see the file comment). */
export function populationStabilityIndex(referenceCounts: ArrayLike<number>, liveCounts: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  const referenceTotal = total(referenceCounts)
  const liveTotal = total(liveCounts)
  if (referenceTotal === 0 || liveTotal === 0 || referenceCounts.length !== liveCounts.length) return Number.NaN
  let psi = 0
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = (referenceCounts[i] as number) / referenceTotal || epsilon
    const l = (liveCounts[i] as number) / liveTotal || epsilon
    psi += (l - r) * Math.log(l / r)
  }
  return psi
}

/** x·ln(x/y) with scipy.special.rel_entr's conventions for zeros (y is never 0 where x > 0 here: y is a mixture). */
function relativeEntropyTerm(x: number, y: number): number {
  return x > 0 ? x * Math.log(x / y) : 0
}

/** Jensen-Shannon distance, scipy's jensenshannon (natural log unless `base` is given). */
export function jensenShannonDistance(referenceCounts: ArrayLike<number>, liveCounts: ArrayLike<number>, base?: number): number {
  const referenceTotal = total(referenceCounts)
  const liveTotal = total(liveCounts)
  if (referenceTotal === 0 || liveTotal === 0 || referenceCounts.length !== liveCounts.length) return Number.NaN
  let divergence = 0
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = (referenceCounts[i] as number) / referenceTotal
    const l = (liveCounts[i] as number) / liveTotal
    const m = (r + l) / 2
    divergence += relativeEntropyTerm(r, m) + relativeEntropyTerm(l, m)
  }
  if (base !== undefined) divergence /= Math.log(base)
  // Rounding can leave a tiny negative for identical inputs; the square root of that would be NaN.
  return Math.sqrt(Math.max(0, divergence / 2))
}

/** Where each bin's mass sits for Wasserstein, and the span it is normalized by (see the file comment). */
export function binCentres(edges: ArrayLike<number>): { centres: Float64Array; span: number } {
  const edgeCount = edges.length
  const centres = new Float64Array(edgeCount + 1)
  if (edgeCount === 1) {
    const edge = edges[0] as number
    centres[0] = edge - 0.5
    centres[1] = edge + 0.5
    return { centres, span: 1 }
  }
  const first = edges[0] as number
  const last = edges[edgeCount - 1] as number
  for (let i = 1; i < edgeCount; i++) centres[i] = ((edges[i - 1] as number) + (edges[i] as number)) / 2
  centres[0] = first - ((edges[1] as number) - first) / 2
  centres[edgeCount] = last + (last - (edges[edgeCount - 2] as number)) / 2
  return { centres, span: last - first }
}

/** W1 between the histograms at `centres`, divided by `span`. */
export function wassersteinAtCentres(
  centres: ArrayLike<number>,
  span: number,
  referenceCounts: ArrayLike<number>,
  liveCounts: ArrayLike<number>,
  liveOffset = 0,
): number {
  const bins = centres.length
  const referenceTotal = total(referenceCounts)
  const liveTotal = total(liveCounts, liveOffset, bins)
  if (referenceTotal === 0 || liveTotal === 0) return Number.NaN
  let referenceCdf = 0
  let liveCdf = 0
  let distance = 0
  for (let i = 0; i < bins - 1; i++) {
    referenceCdf += (referenceCounts[i] as number) / referenceTotal
    liveCdf += (liveCounts[liveOffset + i] as number) / liveTotal
    distance += Math.abs(referenceCdf - liveCdf) * ((centres[i + 1] as number) - (centres[i] as number))
  }
  return distance / span
}

/** Normalized Wasserstein distance on the bins of `edges` (see the file comment). */
export function wassersteinDistanceBinned(edges: ArrayLike<number>, referenceCounts: ArrayLike<number>, liveCounts: ArrayLike<number>): number {
  if (referenceCounts.length !== edges.length + 1 || liveCounts.length !== edges.length + 1) return Number.NaN
  const { centres, span } = binCentres(edges)
  return wassersteinAtCentres(centres, span, referenceCounts, liveCounts)
}
