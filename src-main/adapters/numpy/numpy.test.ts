import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { type NdArray, halfToFloat, readNpy, toFloat64, writeNpy } from './npy.ts'
import { readNpz, readNumpy, writeNpz } from './npz.ts'
import { readNumpyFile, writeNpzFile } from './numpyFile.ts'

const PYTHON = '/usr/bin/python3'
let workDir = ''

/** Runs a numpy script with the work dir as cwd; numpy is the reference writer/reader these tests compare against. */
function python(script: string): string {
  try {
    return execFileSync(PYTHON, ['-c', script], { cwd: workDir, encoding: 'utf8', timeout: 20_000 })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/No module named 'numpy'|ENOENT/.test(message)) {
      throw new Error('These tests need NumPy from Debian: install the python3-numpy package (apt-get install python3-numpy).', { cause: error })
    }
    throw error
  }
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'outpost-numpy-'))
  // One script generates every reference file, so the (slow) interpreter starts once.
  python(`
import numpy as np, json, zipfile
a = np.arange(12, dtype='<f4').reshape(3, 4) / 8 - 0.5
np.save('f4.npy', a)
np.save('f4_big.npy', a.astype('>f4'))
np.save('f8_fortran.npy', np.asfortranarray(np.arange(24, dtype='<f8').reshape(2, 3, 4)))
np.save('i8_big_fortran.npy', np.asfortranarray(np.arange(6, dtype='>i8').reshape(2, 3) - 3))
for code in ['f2', 'i1', 'i2', 'i4', 'u1', 'u2', 'u4', 'u8']:
    np.save(code + '.npy', (np.arange(5) * 3 - (0 if code[0] == 'u' else 6)).astype('<' + code))
np.save('b1.npy', np.array([True, False, True]))
np.save('scalar.npy', np.float64(2.5))
np.save('empty.npy', np.zeros((0, 3), dtype='<f4'))
np.save('v2.npy', a) ; import numpy.lib.format as fmt
with open('v2.npy', 'wb') as f: fmt.write_array(f, a, version=(2, 0))
with open('v3.npy', 'wb') as f: fmt.write_array(f, a, version=(3, 0))
np.savez('stored.npz', features=a, labels=np.array([1, 0, 3], dtype='<i8'))
np.savez_compressed('deflated.npz', features=np.tile(a, (50, 1)), labels=np.arange(150, dtype='<i4'))
np.save('structured.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<i4')]))
`)
})

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
})

const file = (name: string) => readFileSync(join(workDir, name))

function expectInvalidInput(action: () => unknown, pattern: RegExp) {
  try {
    action()
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('invalid-input')
    expect((error as AppError).message).toMatch(pattern)
    return
  }
  throw new Error('expected an invalid-input AppError')
}

const expectedGrid = Array.from({ length: 12 }, (_, index) => index / 8 - 0.5)

describe('readNpy against files numpy wrote', () => {
  it.each([
    ['f4.npy', 'float32'],
    ['f4_big.npy', 'float32'],
    ['v2.npy', 'float32'],
    ['v3.npy', 'float32'],
  ])('reads %s as a [3, 4] float32 grid', (name, dtype) => {
    const array = readNpy(file(name))
    expect(array.dtype).toBe(dtype)
    expect(array.shape).toEqual([3, 4])
    expect(Array.from(array.data as Float32Array)).toEqual(expectedGrid)
  })

  it('reorders Fortran-order arrays into C order', () => {
    const array = readNpy(file('f8_fortran.npy'))
    expect(array.shape).toEqual([2, 3, 4])
    expect(Array.from(array.data as Float64Array)).toEqual(Array.from({ length: 24 }, (_, index) => index))
  })

  it('reads big-endian Fortran-order int64 values', () => {
    const array = readNpy(file('i8_big_fortran.npy'))
    expect(array.dtype).toBe('int64')
    expect(Array.from(array.data as BigInt64Array)).toEqual([-3n, -2n, -1n, 0n, 1n, 2n])
  })

  it.each([
    ['i1', 'int8'],
    ['i2', 'int16'],
    ['i4', 'int32'],
    ['u1', 'uint8'],
    ['u2', 'uint16'],
    ['u4', 'uint32'],
    ['u8', 'uint64'],
  ])('reads %s as %s', (code, dtype) => {
    const array = readNpy(file(`${code}.npy`))
    expect(array.dtype).toBe(dtype)
    const offset = code.startsWith('u') ? 0 : 6
    expect(Array.from(toFloat64(array))).toEqual([0, 1, 2, 3, 4].map((index) => index * 3 - offset))
  })

  it('keeps float16 as half bits and converts them exactly', () => {
    const array = readNpy(file('f2.npy'))
    expect(array.dtype).toBe('float16')
    expect(Array.from(array.data as Uint16Array, halfToFloat)).toEqual([-6, -3, 0, 3, 6])
  })

  it('reads booleans, scalars and empty arrays', () => {
    expect(Array.from(readNpy(file('b1.npy')).data as Uint8Array)).toEqual([1, 0, 1])
    const scalar = readNpy(file('scalar.npy'))
    expect(scalar.shape).toEqual([])
    expect(Array.from(scalar.data as Float64Array)).toEqual([2.5])
    const empty = readNpy(file('empty.npy'))
    expect(empty.shape).toEqual([0, 3])
    expect(empty.data.length).toBe(0)
  })
})

describe('readNpz against archives numpy wrote', () => {
  it('reads a stored (numpy.savez) archive', () => {
    const arrays = readNpz(file('stored.npz'))
    expect([...arrays.keys()]).toEqual(['features', 'labels'])
    expect(Array.from(arrays.get('features')?.data as Float32Array)).toEqual(expectedGrid)
    expect(Array.from(arrays.get('labels')?.data as BigInt64Array)).toEqual([1n, 0n, 3n])
  })

  it('reads a deflated (numpy.savez_compressed) archive', () => {
    const arrays = readNpz(file('deflated.npz'))
    expect(arrays.get('features')?.shape).toEqual([150, 4])
    expect(Array.from(arrays.get('labels')?.data as Int32Array).slice(-2)).toEqual([148, 149])
  })

  it('reads npy and npz paths through readNumpyFile, keying a lone array by its file name', async () => {
    const single = await readNumpyFile(join(workDir, 'f4.npy'))
    expect([...single.keys()]).toEqual(['f4'])
    const archive = await readNumpyFile(join(workDir, 'stored.npz'))
    expect([...archive.keys()]).toEqual(['features', 'labels'])
  })
})

describe('writers round-trip through numpy', () => {
  it('writes .npy and .npz files numpy reads back bit for bit', async () => {
    const features: NdArray = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0.1, -2, 3.5, 1e-8, 7, -0]) }
    const labels: NdArray = { dtype: 'int64', shape: [2], data: BigInt64Array.from([4n, -9n]) }
    const flags: NdArray = { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) }
    writeFileSync(join(workDir, 'ours.npy'), writeNpy(features))
    await writeNpzFile(join(workDir, 'ours_stored.npz'), { features, labels, flags })
    await writeNpzFile(join(workDir, 'ours_deflated.npz'), { features, labels }, { compress: true })
    const report = JSON.parse(
      python(`
import numpy as np, json
a = np.load('ours.npy')
s = np.load('ours_stored.npz')
d = np.load('ours_deflated.npz')
print(json.dumps({'npy': [a.dtype.str, list(a.shape), a.astype('<f8').tolist()],
  'stored': sorted(s.files), 'labels': s['labels'].tolist(), 'flags': s['flags'].tolist(),
  'deflated': np.array_equal(d['features'], a) and d['labels'].tolist() == [4, -9]}))
`),
    ) as { npy: [string, number[], number[][]]; stored: string[]; labels: number[]; flags: boolean[]; deflated: boolean }
    expect(report.npy[0]).toBe('<f4')
    expect(report.npy[1]).toEqual([2, 3])
    expect(report.npy[2].flat()).toEqual(Array.from(features.data as Float32Array))
    expect(report.stored).toEqual(['features', 'flags', 'labels'])
    expect(report.labels).toEqual([4, -9])
    expect(report.flags).toEqual([true, false, true])
    expect(report.deflated).toBe(true)
    expect(readNpz(writeNpz({ features }, { compress: true })).get('features')?.data).toEqual(features.data)
  })
})

describe('malformed input', () => {
  it('rejects a file that is neither npy nor npz', () => {
    expectInvalidInput(() => readNumpy(new TextEncoder().encode('hello world, not numpy')), /neither a \.npy nor a \.npz/)
  })

  it('rejects truncated array data, naming the shape', () => {
    const bytes = file('f4.npy')
    expectInvalidInput(() => readNpy(bytes.subarray(0, bytes.length - 5), 'inputs.npy'), /inputs\.npy .*truncated.*\[3, 4\]/)
  })

  it('rejects a header cut short', () => {
    expectInvalidInput(() => readNpy(file('f4.npy').subarray(0, 40)), /ends inside the header/)
  })

  it('rejects structured dtypes', () => {
    expectInvalidInput(() => readNpy(file('structured.npy')), /structured/)
  })

  it('rejects an unknown format version', () => {
    const bytes = Uint8Array.from(file('f4.npy'))
    bytes[6] = 9
    expectInvalidInput(() => readNpy(bytes), /format version 9/)
  })

  it('rejects a truncated zip archive', () => {
    const bytes = file('deflated.npz')
    expectInvalidInput(() => readNpz(bytes.subarray(0, bytes.length - 30)), /end-of-central-directory|truncated|damaged/)
  })

  it('rejects a member whose CRC does not match', () => {
    const bytes = Uint8Array.from(writeNpz({ x: { dtype: 'uint8', shape: [4], data: Uint8Array.from([1, 2, 3, 4]) } }))
    // The stored member's last data byte sits just before the central directory.
    const directoryOffset = new DataView(bytes.buffer).getUint32(bytes.length - 6, true)
    bytes[directoryOffset - 1] = 99
    expectInvalidInput(() => readNpz(bytes), /CRC-32/)
  })
})
