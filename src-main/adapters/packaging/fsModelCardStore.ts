/** Model cards and latest evaluations as JSON files beside the stored models: `<modelsDir>/<sha256>.card.json`. */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { z } from 'zod'
import { ModelCard, ModelEvaluation } from '../../../src-shared/contract/packagingContract.ts'
import { AppError } from '../../../src-shared/errors.ts'
import type { ModelCardStore } from '../../ports/ModelCardStore.ts'

export function createFsModelCardStore(modelsDir: string): ModelCardStore {
  const fileFor = (sha256: string, suffix: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new AppError('invalid-input', `Not a sha256: ${sha256.slice(0, 80)}`)
    return join(modelsDir, `${sha256}${suffix}`)
  }

  async function read<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T | undefined> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    try {
      return schema.parse(JSON.parse(text))
    } catch {
      throw new AppError('artifact-corrupt', `The ${what} file ${file} is damaged; delete it to drop it`, { file })
    }
  }

  async function write(file: string, value: unknown): Promise<void> {
    await mkdir(modelsDir, { recursive: true })
    const temporary = `${file}.${randomBytes(6).toString('hex')}.partial`
    try {
      // Temp file and rename: a reader sees the old card or the new one, never half of one.
      await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, { flush: true })
      await rename(temporary, file)
    } catch (error) {
      await rm(temporary, { force: true })
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new AppError('disk-full', `No space left to store the model card in ${modelsDir}`, { modelsDir })
      throw error
    }
  }

  return {
    readCard: (sha256) => read(fileFor(sha256, '.card.json'), ModelCard, 'model card'),
    writeCard: (sha256, card) => write(fileFor(sha256, '.card.json'), card),
    readEvaluation: (sha256) => read(fileFor(sha256, '.evaluation.json'), ModelEvaluation, 'evaluation'),
    writeEvaluation: (sha256, evaluation) => write(fileFor(sha256, '.evaluation.json'), evaluation),
  }
}
