/**
 * The drift math against an independent implementation: scipy (Debian python3-scipy, run by /usr/bin/python3) on
 * generated histograms, through both the plain metric functions and the packed-vector path the heatmap uses.
 * PSI has no scipy function; it is Σ rel_entr(l, r) + rel_entr(r, l) over the epsilon-smoothed shares.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import type { DriftReference } from '../../../src-shared/domain/drift.ts'
import { createDriftLayout } from '../../core/drift/driftLayout.ts'
import { scoreEntry } from '../../core/drift/evaluateDrift.ts'
import { jensenShannonDistance, populationStabilityIndex, PSI_EPSILON, wassersteinDistanceBinned } from '../../core/drift/metrics.ts'
import { seededRandom } from './testing/driftFixtures.ts'

interface Case {
  edges: number[]
  reference: number[]
  live: number[]
}

const SCIPY = `
import json, sys
try:
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.special import rel_entr
    from scipy.stats import wasserstein_distance
except ImportError as error:
    sys.stderr.write('MISSING ' + str(error))
    sys.exit(3)

def smoothed(counts):
    shares = np.asarray(counts, dtype=float) / float(np.sum(counts))
    return np.where(shares == 0, ${PSI_EPSILON}, shares)

def centres_and_span(edges):
    edges = np.asarray(edges, dtype=float)
    if len(edges) == 1:
        return np.array([edges[0] - 0.5, edges[0] + 0.5]), 1.0
    inner = (edges[:-1] + edges[1:]) / 2
    first = edges[0] - (edges[1] - edges[0]) / 2
    last = edges[-1] + (edges[-1] - edges[-2]) / 2
    return np.concatenate([[first], inner, [last]]), edges[-1] - edges[0]

out = []
for case in json.load(sys.stdin):
    r, l = smoothed(case['reference']), smoothed(case['live'])
    centres, span = centres_and_span(case['edges'])
    out.append({
        'psi': float(np.sum(rel_entr(l, r) + rel_entr(r, l))),
        'js': float(jensenshannon(case['reference'], case['live'])),
        'js2': float(jensenshannon(case['reference'], case['live'], base=2)),
        'wasserstein': float(wasserstein_distance(centres, centres, case['reference'], case['live']) / span),
    })
print(json.dumps(out))
`

function runScipy(cases: readonly Case[]): Array<{ psi: number; js: number; js2: number; wasserstein: number }> {
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', SCIPY], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 60_000 })) as Array<{
      psi: number
      js: number
      js2: number
      wasserstein: number
    }>
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    const status = (error as { status?: number }).status
    if (status === 3 || stderr.includes('MISSING') || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`The drift cross-check needs /usr/bin/python3 with scipy and numpy: install the Debian package python3-scipy (${stderr.trim()})`, {
        cause: error,
      })
    }
    throw error
  }
}

/** Histograms with 2 to 20 bins, uneven edges, some empty bins, live drawn near or far from the reference. */
function generateCases(count: number): Case[] {
  const random = seededRandom(20250101)
  const cases: Case[] = []
  for (let c = 0; c < count; c++) {
    const binCount = 2 + Math.floor(random() * 19)
    const edges: number[] = []
    let edge = -5 + random() * 2
    for (let i = 0; i < binCount - 1; i++) {
      edges.push(Number(edge.toFixed(6)))
      edge += 0.05 + random() * 2
    }
    const counts = (): number[] => Array.from({ length: binCount }, () => (random() < 0.15 ? 0 : Math.floor(random() * (c % 3 === 0 ? 5000 : 200))))
    const reference = counts()
    const live = c % 4 === 0 ? reference.map((value) => value + Math.floor(random() * 20)) : counts()
    if (!reference.some((value) => value > 0)) reference[0] = 1
    if (!live.some((value) => value > 0)) live[binCount - 1] = 1
    cases.push({ edges, reference, live })
  }
  return cases
}

describe('drift metrics vs scipy', () => {
  const cases = generateCases(60)
  const expected = runScipy(cases)

  it('PSI, Jensen-Shannon (base e and 2) and normalized Wasserstein agree to 1e-9', () => {
    cases.forEach((item, index) => {
      const scipy = expected[index]
      expect(scipy).toBeDefined()
      expect(populationStabilityIndex(item.reference, item.live)).toBeCloseTo(scipy?.psi ?? Number.NaN, 9)
      expect(jensenShannonDistance(item.reference, item.live)).toBeCloseTo(scipy?.js ?? Number.NaN, 9)
      expect(jensenShannonDistance(item.reference, item.live, 2)).toBeCloseTo(scipy?.js2 ?? Number.NaN, 9)
      expect(wassersteinDistanceBinned(item.edges, item.reference, item.live)).toBeCloseTo(scipy?.wasserstein ?? Number.NaN, 9)
    })
  })

  it('the packed-vector path of the heatmap gives the same numbers', () => {
    const reference: DriftReference = {
      features: cases.map((item, index) => ({ name: `c${index}`, bin_edges: item.edges, reference_counts: item.reference })),
    }
    const layout = createDriftLayout(reference, 'ab'.repeat(32))
    const packed = cases.flatMap((item) => item.live)
    layout.features.forEach((entry, index) => {
      const scipy = expected[index]
      expect(scoreEntry(entry, 'psi', packed).score).toBeCloseTo(scipy?.psi ?? Number.NaN, 9)
      expect(scoreEntry(entry, 'jensenShannon', packed).score).toBeCloseTo(scipy?.js ?? Number.NaN, 9)
      expect(scoreEntry(entry, 'wasserstein', packed).score).toBeCloseTo(scipy?.wasserstein ?? Number.NaN, 9)
    })
  })
})
