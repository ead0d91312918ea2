/** The fp16 recipe on files: read (with external data), convert (core/packaging/convertToFloat16.ts), write atomically. */
import { dirname } from 'node:path'
import { convertToFloat16, type Float16Options, type Float16Report } from '../../core/packaging/convertToFloat16.ts'
import { assertDistinctOutput, writeFileAtomic, type FileRecipeResult } from './atomicWrite.ts'
import { decodeOnnx, encodeOnnx, loadExternalData } from './onnxCodec.ts'
import { readModelBytes } from './inspectFile.ts'

export async function convertFileToFloat16(inputPath: string, outputPath: string, options: Float16Options = {}): Promise<FileRecipeResult<Float16Report>> {
  assertDistinctOutput(inputPath, outputPath)
  const bytes = await readModelBytes(inputPath)
  const source = await loadExternalData(decodeOnnx(bytes), dirname(inputPath))
  const { model, report } = convertToFloat16(source, options)
  const encoded = encodeOnnx(model)
  await writeFileAtomic(outputPath, encoded)
  return { outputPath, sourceSizeBytes: bytes.length, outputSizeBytes: encoded.length, report }
}
