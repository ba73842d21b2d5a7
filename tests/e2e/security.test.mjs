// End-to-end test of encryption at rest in the real app (docs/security.md): set-up refuses a short
// or unconfirmed passphrase, creates the register encrypted; the file on disk holds neither the
// child's name nor the ID or phone number; closing the window writes the daily backup; after a
// restart the unlock screen comes first, a wrong passphrase is refused with the Chinese message
// and leaves every file untouched, the right one opens the register with its data; 设置 changes
// the passphrase and the old one stops working. In 学户册 ID and phone numbers are masked; 显示
// reveals one, and the audit log (read with the CLI after the app quit) names who revealed which
// field of which record, never the value. A plain register whose operator has a PIN opens only
// with it. Screenshots 20-24.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, idNumber, APP, TMP, waitAppExit } from './harness.mjs'

// The app (started by tauri-driver, which inherits this environment) works as this operator.
const OPERATOR = '欧阳文书'
process.env.BAOXUE_OPERATOR = OPERATOR
useDriver()

const CLI = process.env.BAOXUE_CLI || path.join(path.dirname(APP || '.'), 'baoxue')
function cli(db, args, env = {}, input) {
  return execFileSync(CLI, ['--db', db, ...args], {
    encoding: 'utf8', input, env: { ...process.env, BAOXUE_OPERATOR: OPERATOR, ...env },
  })
}

/** Closes the app with its 退出 button (the click runs after the script returned: the window, and
 * the session with it, goes away), waits until FILE exists when given, then ends the session. */
async function quitApp(d, file) {
  const quit = await find(d, '[data-test="quit-app"]')
  await d.executeScript('const el = arguments[0]; setTimeout(() => el.click(), 200)', quit)
  const end = Date.now() + 60000
  while (file && !file() && Date.now() < end) await new Promise((r) => setTimeout(r, 300))
  await d.sleep(1000)
  await d.quit().catch(() => {})
}

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
    await waitText(d, '[data-test="roster-table"] .el-table-v2__row', CHILD)
    // 退出 closes the window as its title-bar button does: the daily backup is written.
    const backupDir = path.join(dir, 'backups')
    await quitApp(d, () => fs.existsSync(backupDir) && fs.readdirSync(backupDir).some((f) => f.endsWith('.bak')))
  } catch (e) {
    await d.quit().catch(() => {})
    throw e
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
  await waitAppExit(db)
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
    await waitText(d, '[data-test="roster-table"] .el-table-v2__row', CHILD)

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
  await waitAppExit(db)
  d = await openApp(db)
  try {
    await find(d, '[data-test="unlock-passphrase"]')
    await shot(d, '22-unlock.png')
    await unlockWith(d, PASSPHRASE)
    await waitText(d, '[data-test="unlock-error"]', '口令不正确')
    await unlockWith(d, NEW_PASSPHRASE)
    await waitText(d, '[data-test="roster-table"] .el-table-v2__row', CHILD)

    // 学户册: numbers masked until 显示 is clicked; each reveal is audited.
    const rowText = (await texts(d, '[data-test="roster-table"] .el-table-v2__row')).join('\n')
    assert.ok(!rowText.includes(PHONE) && rowText.includes('139****5678'), '电话号码默认应隐去中间几位')
    // A click on the household opens it with its children.
    await click(d, '[data-test="roster-table"] .el-table-v2__row')
    await waitText(d, '[data-test="household-children"]', CHILD)
    const idCell = '[data-test="household-dialog"] [data-reveal="child.id_number"] [data-test="reveal-value"]'
    await waitText(d, idCell, CHILD_ID.slice(0, 6) + '********')
    assert.ok(!(await texts(d, idCell)).join('').includes(CHILD_ID), '身份证号默认应隐去')
    await click(d, '[data-test="household-dialog"] [data-reveal="child.id_number"] [data-test="reveal-show"]')
    await waitText(d, idCell, CHILD_ID)
    await click(d, '[data-test="household-dialog"] [data-reveal="household.phone"] [data-test="reveal-show"]')
    await waitText(d, '[data-test="household-dialog"] [data-reveal="household.phone"] [data-test="reveal-value"]', PHONE)
    await shot(d, '23-roster-reveal.png')
    await click(d, '[data-test="household-dialog"] [data-reveal="child.id_number"] [data-test="reveal-hide"]')
    await waitText(d, idCell, '********')
    await quitApp(d)
  } catch (e) {
    await d.quit().catch(() => {})
    throw e
  }

  // The audit log (the app closed): two reveals by this operator, the record and the field named,
  // no value anywhere in what the CLI prints.
  const out = cli(db, ['--json', 'audit', 'list', '--action', 'reveal'], { BAOXUE_PASSPHRASE: NEW_PASSPHRASE })
  assert.ok(!out.includes(CHILD_ID) && !out.includes(PHONE), '审计日志中不应有号码本身')
  const rows = JSON.parse(out)
  assert.equal(rows.length, 2, out)
  assert.ok(rows.every((r) => r.operator === OPERATOR && r.action === 'reveal'), out)
  assert.deepEqual(rows.map((r) => [r.table_name, JSON.parse(r.fields)]), [['children', ['id_number']], ['households', ['phone']]])
  assert.ok(rows.every((r) => /^\d{4}-\d{2}-\d{2}T/.test(r.at) && r.record_id.length > 10), out)
  assert.match(cli(db, ['audit', 'verify'], { BAOXUE_PASSPHRASE: NEW_PASSPHRASE }), /哈希链.*校验通过/)
})

test('a plain register whose operator has a PIN opens only with it', { timeout: 300000 }, async () => {
  const dir = path.join(TMP, 'pin')
  fs.mkdirSync(dir)
  const db = path.join(dir, 'register.db')
  cli(db, ['init', '--no-encryption', '--kind', 'village', '--name', '李庄村委会', '--region', '410423100203'])
  cli(db, ['operator', 'add', OPERATOR, '--pin-stdin'], {}, '2468\n')
  const d = await openApp(db)
  try {
    await find(d, '[data-test="unlock-pin"]')
    assert.equal((await texts(d, '[data-test="unlock-passphrase"]')).length, 0, '未加密的登记库不应要求口令')
    await type(d, 'unlock-pin', '1357')
    await click(d, '[data-test="unlock-submit"]')
    await waitText(d, '[data-test="unlock-error"]', 'PIN不正确')
    await shot(d, '24-unlock-pin.png')
    await type(d, 'unlock-pin', '2468')
    await click(d, '[data-test="unlock-submit"]')
    await waitText(d, '[data-test="site-name"]', '李庄村委会')
  } finally {
    await d.quit()
  }
})
