// End-to-end test of encryption at rest in the real app (docs/security.md): set-up refuses a short
// or unconfirmed passphrase, creates the register encrypted; the file on disk holds neither the
// child's name nor the ID or phone number; closing the window writes the daily backup; after a
// restart the unlock screen comes first, a wrong passphrase is refused with the Chinese message
// and leaves every file untouched, the right one opens the register with its data; 设置 changes
// the passphrase and the old one stops working.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, idNumber, TMP } from './harness.mjs'

useDriver()

const CHILD = '欧阳小燕'
const HEAD = '欧阳志明'
const CHILD_ID = idNumber('41042320180304562')
const PHONE = '13912345678'
const PASSPHRASE = '青山县登记口令2026'
const NEW_PASSPHRASE = '换过的口令XYZ-2027'

/** name → SHA-256 of every file in DIR (and its subfolders); not a -shm index, which is shared
 * memory any reader rebuilds, not data. */
function hashes(dir) {
  const out = {}
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.endsWith('-shm')) continue
    const p = path.join(e.parentPath || e.path, e.name)
    out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
  }
  return out
}

async function unlockWith(d, passphrase) {
  await type(d, 'unlock-passphrase', passphrase)
  await click(d, '[data-test="unlock-submit"]')
}

test('an encrypted register: set up, unreadable on disk, unlock screen, wrong passphrase refused, change it', { timeout: 400000 }, async () => {
  const dir = path.join(TMP, 'security')
  fs.mkdirSync(dir)
  const db = path.join(dir, 'register.db')
  let d = await openApp(db)
  try {
    await type(d, 'site-name-input', '欧阳村委会')
    await type(d, 'site-region', '410423100202')
    // Too short, then not the same twice: refused before anything is written.
    await type(d, 'site-passphrase', '1234567')
    await type(d, 'site-passphrase-confirm', '1234567')
    await click(d, '[data-test="site-save"]')
    await waitText(d, '[data-test="setup-error"]', '口令太短')
    await type(d, 'site-passphrase', PASSPHRASE)
    await type(d, 'site-passphrase-confirm', PASSPHRASE + '1')
    await click(d, '[data-test="site-save"]')
    await waitText(d, '[data-test="setup-error"]', '两次输入的口令不一致')
    assert.ok(!fs.existsSync(db), '口令有误时不应建立登记库文件')
    await type(d, 'site-passphrase-confirm', PASSPHRASE)
    await click(d, '[data-test="site-save"]')
    await waitText(d, '[data-test="site-name"]', '欧阳村委会')

    await click(d, '[data-test="add-household"]')
    await type(d, 'head-name', HEAD)
    await type(d, 'phone', PHONE)
    await type(d, 'address', '欧阳村1组')
    await type(d, 'child-name-0', CHILD)
    await type(d, 'child-id-0', CHILD_ID)
    await waitText(d, '[data-test="child-id-0-status"]', '2018-03-04')
    await click(d, '[data-test="save-household"]')
    await waitText(d, '[data-test="roster-table"] .el-table__row', CHILD)
    // 退出 closes the window as its title-bar button does: the daily backup is written.
    // (clicked after the script returns: the window, and the session with it, goes away)
    const quit = await find(d, '[data-test="quit-app"]')
    await d.executeScript('const el = arguments[0]; setTimeout(() => el.click(), 200)', quit)
    const backupDir = path.join(dir, 'backups')
    const end = Date.now() + 60000
    while (!(fs.existsSync(backupDir) && fs.readdirSync(backupDir).some((f) => f.endsWith('.bak'))) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300))
    }
  } finally {
    // The app has ended with its window: the session may already be gone.
    await d.quit().catch(() => {})
  }

  // On disk: the register (and any -wal beside it) holds no name, ID or phone in any encoding a
  // copier would try.
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('register.db'))
  assert.ok(files.length >= 1)
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(dir, f))
    for (const needle of [CHILD, HEAD, CHILD_ID, PHONE, '欧阳村委会', 'SQLite format 3']) {
      assert.equal(bytes.indexOf(Buffer.from(needle, 'utf8')), -1, `${f} 中不应出现明文“${needle}”`)
      assert.equal(bytes.indexOf(Buffer.from(needle, 'utf16le')), -1, `${f} 中不应出现明文“${needle}”（UTF-16）`)
    }
  }
  // Closing the window wrote today's encrypted backup (not a plain byte of it readable).
  const backups = fs.existsSync(path.join(dir, 'backups')) ? fs.readdirSync(path.join(dir, 'backups')) : []
  assert.ok(backups.some((f) => /^baoxue-\d{4}-\d{2}-\d{2}\.bak$/.test(f)), `关闭窗口后应有当天的备份，实有：${backups}`)
  const bak = fs.readFileSync(path.join(dir, 'backups', backups.find((f) => f.endsWith('.bak'))))
  assert.equal(bak.indexOf(Buffer.from(CHILD, 'utf8')), -1, '备份文件中不应出现明文姓名')

  // Restart: the unlock screen first; a wrong passphrase opens nothing and changes nothing.
  d = await openApp(db)
  try {
    await find(d, '[data-test="unlock-passphrase"]')
    const before = hashes(dir)
    await unlockWith(d, '不是这个口令123')
    await waitText(d, '[data-test="unlock-error"]', '口令不正确，登记库没有打开，也没有任何改动')
    assert.deepEqual(hashes(dir), before, '口令错误时登记库文件夹中的文件应一字节不变')
    assert.equal((await texts(d, '[data-test="site-name"]')).length, 0, '口令错误时不应显示任何登记内容')
    await shot(d, '20-unlock-wrong-passphrase.png')

    await unlockWith(d, PASSPHRASE)
    await waitText(d, '[data-test="site-name"]', '欧阳村委会')
    await waitText(d, '[data-test="roster-table"] .el-table__row', CHILD)

    // 设置: change the passphrase (the current one is checked first).
    await click(d, '[data-nav="settings"]')
    await waitText(d, '[data-test="protection"]', '已加密')
    await type(d, 'passphrase-current', '不是这个口令123')
    await type(d, 'passphrase-new', NEW_PASSPHRASE)
    await type(d, 'passphrase-confirm', NEW_PASSPHRASE)
    await click(d, '[data-test="passphrase-save"]')
    await waitText(d, '[data-test="passphrase-error"]', '口令不正确')
    await type(d, 'passphrase-current', PASSPHRASE)
    await click(d, '[data-test="passphrase-save"]')
    await waitText(d, '[data-test="passphrase-done"]', '口令已更换')
    await shot(d, '21-settings-passphrase.png')
  } finally {
    await d.quit()
  }

  // The old passphrase no longer opens it; the new one does.
  d = await openApp(db)
  try {
    await find(d, '[data-test="unlock-passphrase"]')
    await shot(d, '22-unlock.png')
    await unlockWith(d, PASSPHRASE)
    await waitText(d, '[data-test="unlock-error"]', '口令不正确')
    await unlockWith(d, NEW_PASSPHRASE)
    await waitText(d, '[data-test="roster-table"] .el-table__row', CHILD)
  } finally {
    await d.quit()
  }
})
