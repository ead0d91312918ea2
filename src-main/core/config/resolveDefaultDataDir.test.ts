import { describe, expect, it } from 'vitest'
import { resolveDefaultDataDir } from './resolveDefaultDataDir.ts'

describe('resolveDefaultDataDir', () => {
  const cases: Array<[string, Record<string, string | undefined>, string, string, string]> = [
    ['OUTPOST_DATA_DIR wins on every platform', { OUTPOST_DATA_DIR: '/srv/outpost', XDG_DATA_HOME: '/x' }, 'linux', '/home/ana', '/srv/outpost'],
    ['OUTPOST_DATA_DIR wins on Windows too', { OUTPOST_DATA_DIR: 'D:\\o', APPDATA: 'C:\\a' }, 'win32', 'C:\\Users\\ana', 'D:\\o'],
    ['an empty OUTPOST_DATA_DIR is ignored', { OUTPOST_DATA_DIR: ' ' }, 'linux', '/home/ana', '/home/ana/.local/share/outpost'],
    ['Linux uses XDG_DATA_HOME', { XDG_DATA_HOME: '/data/ana/' }, 'linux', '/home/ana', '/data/ana/outpost'],
    ['Linux ignores a relative XDG_DATA_HOME', { XDG_DATA_HOME: 'rel' }, 'linux', '/home/ana', '/home/ana/.local/share/outpost'],
    ['Linux falls back to ~/.local/share', {}, 'linux', '/home/ana/', '/home/ana/.local/share/outpost'],
    ['other Unixes follow Linux', {}, 'freebsd', '/usr/home/ana', '/usr/home/ana/.local/share/outpost'],
    ['macOS uses Application Support', { XDG_DATA_HOME: '/x' }, 'darwin', '/Users/ana', '/Users/ana/Library/Application Support/Outpost'],
    ['Windows uses APPDATA', { APPDATA: 'C:\\Users\\ana\\AppData\\Roaming\\' }, 'win32', 'C:\\Users\\ana', 'C:\\Users\\ana\\AppData\\Roaming\\Outpost'],
    ['Windows without APPDATA uses the roaming folder under home', {}, 'win32', 'C:\\Users\\ana', 'C:\\Users\\ana\\AppData\\Roaming\\Outpost'],
  ]
  it.each(cases)('%s', (_name, env, platform, home, expected) => {
    expect(resolveDefaultDataDir(env, platform, home)).toBe(expected)
  })
})
