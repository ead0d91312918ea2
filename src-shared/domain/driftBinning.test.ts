import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { Drift } from '../trust/metadata.ts'
import { DriftReference } from './drift.ts'
import {
  addBatchToDriftCounts,
  binIndex,
  countIntoBins,
  driftReferenceBytes,
  driftReferenceSha256,
  emptyDriftCounts,
  featureValues,
} from './driftBinning.ts'


describe('countIntoBins', () => {
  it('closes bins on the left: an edge value belongs to the bin above it', () => {
    expect(countIntoBins([0, 1], [-5, 0, 0.5, 1, 7])).toEqual([1, 2, 2])
    expect(binIndex([0, 1], 1)).toBe(2)
    expect(binIndex([0, 1], -0.0001)).toBe(0)
  })

  it('puts infinities in the open outer bins and skips NaN', () => {
    expect(countIntoBins([0], [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN])).toEqual([1, 1])
  })

  it('matches a linear scan on many edges', () => {
    const edges = Array.from({ length: 19 }, (_, i) => i * 0.5 - 4)
    for (let value = -6; value <= 6; value += 0.25) {
      const expected = edges.filter((edge) => edge <= value).length
      expect(binIndex(edges, value)).toBe(expected)
    }
  })
})

describe('featureValues', () => {
  const inputs = { image: { dims: [2, 2, 2, 1], data: [1, 3, 10, 30, 2, 4, 20, 40] } }
  const outputs = { probabilities: { dims: [2, 3], data: [0.1, 0.7, 0.2, 0.6, 0.3, 0.1] } }

  it('reads an element, a channel mean, a column, an argmax and a score per sample', () => {
    expect(featureValues({ kind: 'element', input: 'image', index: 3 }, inputs, outputs)).toEqual([30, 40])
    // [C=2, H=2, W=1] per sample: channel 1 is elements 2 and 3.
    expect(featureValues({ kind: 'channel-mean', input: 'image', axis: 0, channel: 1 }, inputs, outputs)).toEqual([20, 30])
    expect(featureValues({ kind: 'channel-mean', input: 'image', axis: 1, channel: 0 }, inputs, outputs)).toEqual([5.5, 11])
    expect(featureValues({ kind: 'column', column: 'image' }, inputs, outputs)).toEqual([1, 2])
    expect(featureValues({ kind: 'argmax', output: 'probabilities' }, inputs, outputs)).toEqual([1, 0])
    expect(featureValues({ kind: 'score', output: 'probabilities', index: 2 }, inputs, outputs)).toEqual([0.2, 0.1])
  })

  it('returns undefined for a missing tensor or an index beyond it', () => {
    expect(featureValues({ kind: 'element', input: 'missing', index: 0 }, inputs, outputs)).toBeUndefined()
    expect(featureValues({ kind: 'element', input: 'image', index: 4 }, inputs, outputs)).toBeUndefined()
    expect(featureValues({ kind: 'channel-mean', input: 'image', axis: 0, channel: 2 }, inputs, outputs)).toBeUndefined()
  })
})

describe('DriftReference', () => {
  const reference = DriftReference.parse({
    features: [{ name: 'x', bin_edges: [0, 1], reference_counts: [1, 2, 3], source: { kind: 'element', input: 'features', index: 0 } }],
    predictions: { name: 'class', bin_edges: [0.5], reference_counts: [4, 5], source: { kind: 'argmax', output: 'probabilities' } },
  })

  it('is accepted by the release manifest schema (the extra fields are signed, not required)', () => {
    expect(Drift.safeParse(reference).success).toBe(true)
  })

  it('refuses edges that do not increase, the wrong number of counts and repeated names', () => {
    expect(DriftReference.safeParse({ features: [{ name: 'x', bin_edges: [1, 1], reference_counts: [1, 2, 3] }] }).success).toBe(false)
    expect(DriftReference.safeParse({ features: [{ name: 'x', bin_edges: [1], reference_counts: [1] }] }).success).toBe(false)
    const twice = { name: 'x', bin_edges: [1], reference_counts: [1, 2] }
    expect(DriftReference.safeParse({ features: [twice, twice] }).success).toBe(false)
  })

  it('hashes to the same binsSha256 whatever the key order it was written in', () => {
    const reordered = DriftReference.parse(
      JSON.parse(
        '{"predictions":{"source":{"output":"probabilities","kind":"argmax"},"reference_counts":[4,5],"bin_edges":[0.5],"name":"class"},"features":[{"reference_counts":[1,2,3],"source":{"index":0,"input":"features","kind":"element"},"name":"x","bin_edges":[0,1]}]}',
      ),
    )
    expect(driftReferenceSha256(reordered, sha256)).toBe(driftReferenceSha256(reference, sha256))
    expect(new TextDecoder().decode(driftReferenceBytes(reference))).toMatch(/^\{"features":\[\{"name":"x","bin_edges"/)
    const changed = { ...reference, features: [{ ...reference.features[0], name: 'x', bin_edges: [0, 2], reference_counts: [1, 2, 3] }] }
    expect(driftReferenceSha256(changed, sha256)).not.toBe(driftReferenceSha256(reference, sha256))
  })

  it('counts a batch into every feature with a source and into the predictions', () => {
    const counts = emptyDriftCounts(reference)
    const samples = addBatchToDriftCounts(
      counts,
      reference,
      { features: { dims: [3, 1], data: [-1, 0.5, 2] } },
      { probabilities: { dims: [3, 2], data: [0.9, 0.1, 0.2, 0.8, 0.3, 0.7] } },
    )
    expect(samples).toBe(3)
    expect(counts).toEqual({ featureCounts: { x: [1, 1, 1] }, predictionCounts: [1, 2] })
  })
})
