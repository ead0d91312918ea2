/** File-system entry points for NumPy arrays: read a `.npy`/`.npz` path, write one for tests and tools. */
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'
import { type NdArray, writeNpy } from './npy.ts'
import { readNumpy, writeNpz } from './npz.ts'

/** Reads a `.npy` or `.npz` file; a lone `.npy` array is keyed by its file name without the extension. */
export async function readNumpyFile(path: string): Promise<Map<string, NdArray>> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new AppError(code === 'ENOENT' ? 'not-found' : 'invalid-input', `Cannot read the NumPy file ${path} (${code ?? 'unknown error'}).`, { path })
  }
  return readNumpy(bytes, `The file ${basename(path)}`, basename(path).replace(/\.npy$/i, ''))
}

/** Writes one array as a `.npy` file. */
export async function writeNpyFile(path: string, array: NdArray): Promise<void> {
  await writeFile(path, writeNpy(array))
}

/** Writes named arrays as an `.npz` file (deflated when `compress`). */
export async function writeNpzFile(path: string, arrays: Record<string, NdArray>, options: { compress?: boolean } = {}): Promise<void> {
  await writeFile(path, writeNpz(arrays, options))
}
