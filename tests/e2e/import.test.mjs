// End-to-end: the 学籍 import wizard in the real app. A county register with one school is
// prepared with the `baoxue` CLI (next to the app binary), which also writes realistic roll sheets
// (`baoxue bench gen`: title row, merged two-row header, 监护人信息 group, footer; `--faults` adds
// a wrong check digit in row 7, an ID stored as a number in row 10 and a repeated pupil).
// 1. A large sheet: preview, start the import, cancel it midway → nothing written (the CLI's
//    snapshot of the register is the same before and after).
// 2. The faulty sheet: preview (columns found, first errors), import, read the report (counts, a
//    refused row with its row number and Chinese reason), save the error sheet, and saving again
//    asks before overwriting.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, log, TMP, T, cli, wizardPreview, wizardRun } from './harness.mjs'

useDriver()


function county(db) {
  cli(db, 'init', '--kind', 'county', '--name', '测试县教育局', '--region', '410423')
  cli(db, 'school', 'add', '--code', '4141000001', '--name', '城关第一小学', '--kind', 'primary')
}

const snapshot = (db) => cli(db, 'snapshot', '--json')

test('import a roll sheet through the wizard: cancel midway, then import, report, error sheet', { timeout: 600000 }, async () => {
  const db = path.join(TMP, 'import.db')
  county(db)
  const big = path.join(TMP, '城关一小花名册_大.xlsx')
  const roll = path.join(TMP, '城关一小花名册.xlsx')
  cli(db, 'bench', 'gen', '--rows', '30000', '--out', big)
  cli(db, 'bench', 'gen', '--rows', '300', '--out', roll, '--faults')
  const before = snapshot(db)

  const d = await openApp(db)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="import"]')
    await find(d, '[data-test="import-path"]')

    // A file that does not exist: a Chinese message, nothing else.
    await type(d, 'import-path', path.join(TMP, '没有这个文件.xlsx'))
    await click(d, '[data-test="import-preview"]')
    await waitText(d, '[data-test="import-error"]', '找不到文件')

    // 1. The large sheet, cancelled during the import.
    await wizardPreview(d, big, 180000)
    await waitText(d, '[data-test="preview-counts"]', '30000')
    await click(d, '[data-test="import-run"]')
    await find(d, '[data-test="import-progress"]')
    // Wait until rows are being written, then cancel.
    await d.wait(async () => /\d+ \/ \d+ 行/.test((await texts(d, '[data-test="job-status"]')).join(' ')), T, '导入没有显示进度')
    await shot(d, '40-import-progress.png')
    await click(d, '[data-test="job-cancel"]')
    await waitText(d, '[data-test="import-error"]', '未作任何改动', 120000)
    assert.equal(snapshot(db), before, '取消的导入不应在登记库留下任何改动')
    log('cancelled import left the register unchanged')

    // 2. The faulty sheet: preview.
    await wizardPreview(d, roll)
    // 300 pupils and the repeated one: 301 rows read, 298 new, 3 refused.
    await waitText(d, '[data-test="preview-counts"]', '301')
    await waitText(d, '[data-test="preview-counts"]', '298')
    await waitText(d, '[data-test="preview-mapping"]', '身份证号')
    await waitText(d, '[data-test="preview-mapping"]', '监护人')
    await waitText(d, '[data-test="preview-errors"]', '校验')
    await shot(d, '41-import-preview.png')
    assert.equal(snapshot(db), before, '预览不写入登记库')

    // Import and read the report.
    await wizardRun(d)
    assert.equal((await texts(d, '[data-test="report-inserted"]'))[0].trim(), '298')
    assert.equal((await texts(d, '[data-test="report-refused-count"]'))[0].trim(), '3')
    const refused = (await texts(d, '[data-test="report-refused"] .el-table__row')).map((r) => r.replace(/\s+/g, ' '))
    assert.ok(refused.some((r) => r.startsWith('7 ') && r.includes('校验')), `第7行应因校验位被拒收：${refused.join(' | ')}`)
    assert.ok(refused.some((r) => r.startsWith('10 ') && r.includes('文本')), `第10行应提示把列设为文本：${refused.join(' | ')}`)
    assert.ok(refused.some((r) => r.includes('第5行')), `重复的学生应指向第5行：${refused.join(' | ')}`)
    assert.ok(!/\d{17}[\dX]/.test(refused.join(' ')), '报告中不应出现完整身份证号')

    // The error sheet, beside the file; a second save asks before overwriting.
    const errorsFile = path.join(TMP, '城关一小花名册_拒收行.xlsx')
    await click(d, '[data-test="errors-save"]')
    await waitText(d, '[data-test="errors-saved"]', '已保存 3 行')
    assert.ok(fs.existsSync(errorsFile) && fs.statSync(errorsFile).size > 1000, `错误行文件应已写出：${errorsFile}`)
    await shot(d, '42-import-report.png')
    fs.writeFileSync(errorsFile, 'old')
    await click(d, '[data-test="errors-save"]')
    await waitText(d, '.el-message-box', '已存在')
    await click(d, '.el-message-box__btns .el-button--primary')
    await d.wait(async () => fs.statSync(errorsFile).size > 1000, T, '确认覆盖后应重新写出错误行文件')

    // The error sheet imports again: its three rows are read; the two bad IDs are still refused
    // (not fixed yet), the repeated pupil alone is no longer a duplicate (already in the register).
    const again = JSON.parse(cli(db, '--json', 'import', 'roll', errorsFile, '--school', '4141000001', '--term', '2026秋', '--dry-run'))
    assert.equal(again.rows_read, 3)
    assert.deepEqual(again.refused.map((r) => r.code).length, 2)
    assert.equal(again.unchanged, 1)
  } finally {
    await d.quit()
  }
})
