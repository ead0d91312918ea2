/**
 * Cross-checks the pure calibration code (core/quantization/calibration.ts) against an independent NumPy/SciPy
 * implementation of the same definitions, run by Debian's python3 on the same histogram.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../fixtures/scripts/tinyClassifier.ts'
import { accumulateHistogram, accumulateRange, createHistogram, createRangeStatistics, entropyRange, percentileRange } from '../../core/quantization/calibration.ts'

/** TensorRT's entropy search and the symmetric |x| percentile, written with numpy.histogram and scipy.stats.entropy. */
const reference = `
import json, sys
import numpy as np
from scipy.stats import entropy
values = np.array(json.loads(sys.stdin.read()), dtype=np.float64)
t = np.abs(values).max()
hist, edges = np.histogram(values, 2048, range=(-t, t))
def smooth(p, eps=1e-4):
    zeros = p == 0
    if zeros.all():
        return None
    p = p.astype(np.float64).copy()
    p[zeros] += eps
    p[~zeros] -= eps * zeros.sum() / (~zeros).sum()
    return p
best = (np.inf, None)
for i in range(64, 1025):
    lo, hi = 1024 - i, 1024 + i
    part = hist[lo:hi].astype(np.float64)
    p = part.copy(); p[0] += hist[:lo].sum(); p[-1] += hist[hi:].sum()
    q = np.zeros(len(part))
    for level in range(128):
        a, b = (level * len(part)) // 128, ((level + 1) * len(part)) // 128
        nonzero = p[a:b] != 0
        if nonzero.any():
            q[a:b][nonzero] = part[a:b].sum() / nonzero.sum()
    ps, qs = smooth(p), smooth(q)
    kl = np.inf if ps is None or qs is None else entropy(ps, qs)
    if kl < best[0]:
        best = (kl, edges[hi])
folded = hist[1024:] + hist[:1024][::-1]
cdf = np.cumsum(folded) / folded.sum()
k = int(np.searchsorted(cdf, 0.999))
print(json.dumps({"entropy": float(best[1]), "percentile999": float((k + 1) * t / 1024)}))
`

function python(input: string): string {
  try {
    return execFileSync('/usr/bin/python3', ['-c', reference], { input, encoding: 'utf8', timeout: 60_000 })
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr
    if (/No module named/.test(typeof stderr === 'string' ? stderr : '')) {
      throw new Error('This cross-check needs NumPy and SciPy from Debian: install python3-numpy and python3-scipy.', { cause: error })
    }
    throw error
  }
}

describe('calibration against a NumPy/SciPy reference', () => {
  it('picks the same entropy threshold and 99.9th percentile on a long-tailed sample', () => {
    const random = seededRandom(2024)
    // A Laplace-like bulk plus a few large outliers: the case entropy calibration exists for.
    const values = Array.from({ length: 30_000 }, () => {
      const magnitude = -Math.log(1 - random()) * 0.5
      return random() < 0.5 ? -magnitude : magnitude
    })
    values.push(25, -18, 40)
    const expected = JSON.parse(python(JSON.stringify(values))) as { entropy: number; percentile999: number }
    const statistics = accumulateRange(createRangeStatistics(), values)
    const histogram = accumulateHistogram(createHistogram(statistics, 2048), values)
    expect(entropyRange(histogram, 128).max).toBeCloseTo(expected.entropy, 9)
    expect(percentileRange(histogram, 99.9, true).max).toBeCloseTo(expected.percentile999, 9)
  })
})
