// End-to-end: records waiting for a missing bundle, in the app. A school (CLI) opens a case for
// each of its 60 pupils (bundle 2) and confirms each case (bundle 3); the county's clerk imports
// bundles 1 and 3 from the stick in 数据交换: bundle 2 is missing, so the 60 edits wait. The list
// is virtualised (only the rows on screen are drawn; scrolling reaches the last one) and matches
// the CLI's; one record is forced in with a reason, and the CLI then lists 59.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { useDriver, openApp, find, type, waitText, shot, click, waitAppExit, TMP, T, cli, schoolAndCounty, importBundles } from './harness.mjs'

useDriver()

const PUPILS = 60

/** The waiting rows drawn now: their record ids. */
const DRAWN = `return Array.from(document.querySelectorAll('[data-test="waiting-table"] .el-table-v2__row'))
  .map((r) => r.querySelector('.mono')).filter(Boolean).map((m) => m.innerText.trim())`

test('records behind a missing bundle wait in a virtualised list; one is forced in with a reason', { timeout: 600000 }, async () => {
  const { school, county } = schoolAndCounty()
  const roll = path.join(TMP, 'roll.xlsx')
  cli(school, 'bench', 'gen', '--rows', String(PUPILS), '--out', roll)
  cli(school, 'import', 'roll', roll, '--school', '4141000001', '--term', '2026秋')
  const usb = path.join(TMP, 'U盘')
  const kept = path.join(TMP, '第2号')
  fs.mkdirSync(usb)
  fs.mkdirSync(kept)
  cli(school, 'bundle', 'export', '--out', path.join(usb, '1.bxb'))
  const ids = execFileSync('sqlite3', [school, 'SELECT id FROM children ORDER BY id'], { encoding: 'utf8' }).trim().split('\n')
  assert.equal(ids.length, PUPILS)
  for (const id of ids) cli(school, 'case', 'open', '--child', id, '--reason', '厌学')
  // Bundle 2 (the new cases) stays behind: it never reaches the county.
  cli(school, 'bundle', 'export', '--out', path.join(kept, '2.bxb'))
  const cases = execFileSync('sqlite3', [school, 'SELECT id FROM cases ORDER BY id'], { encoding: 'utf8' }).trim().split('\n')
  for (const c of cases) cli(school, 'case', 'transition', c, '--to', 'confirmed')
  cli(school, 'bundle', 'export', '--out', path.join(usb, '3.bxb'))

  let last = null
  const d = await openApp(county)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="exchange"]')
    await importBundles(d, usb)
    await waitText(d, '[data-test="bundle-results"]', '3.bxb', 120000)
    await waitText(d, '[data-test="waiting-count"]', `等待缺号数据包的记录（${PUPILS}）`, 60000)
    const listed = JSON.parse(cli(county, '--json', 'bundle', 'waiting', 'list'))
    assert.equal(listed.length, PUPILS)
    assert.deepEqual(new Set(listed.map((w) => w.record_id)), new Set(cases))

    // Virtualised: a handful of rows drawn, each one the CLI lists.
    await find(d, '[data-test="waiting-table"] .el-table-v2__row .mono')
    const first = await d.executeScript(DRAWN)
    assert.ok(first.length > 0 && first.length < 20, `应只绘出屏幕上的几行，实为 ${first.length} 行`)
    for (const id of first) assert.ok(cases.includes(id), id)
    await shot(d, '59-exchange-waiting.png')
    // The end of the list is reached by scrolling.
    last = listed[listed.length - 1].record_id
    await d.executeScript(`const w = document.querySelector('[data-test="waiting-table"] .el-table-v2__main .el-table-v2__body > div')
      w.scrollTop = w.scrollHeight`)
    await d.wait(async () => (await d.executeScript(DRAWN)).includes(last), T, '滚动到底后没有显示最后一条等待的记录')

    // Force the last one in, with a reason.
    await d.executeScript(`const rows = Array.from(document.querySelectorAll('[data-test="waiting-table"] .el-table-v2__row'))
      const r = rows.find((x) => (x.querySelector('.mono') || {}).innerText === arguments[0])
      r.querySelector('[data-test="waiting-force"]').click()`, last)
    await find(d, '[data-test="decide-dialog"]')
    await type(d, 'decide-reason', '第2号数据包的U盘丢失，已电话核实')
    await click(d, '[data-test="decide-save"]')
    await waitText(d, '[data-test="held-result"]', '已强制导入', 60000)
    await waitText(d, '[data-test="waiting-count"]', `等待缺号数据包的记录（${PUPILS - 1}）`)
  } finally {
    await d.quit()
  }
  await waitAppExit(county)
  const after = JSON.parse(cli(county, '--json', 'bundle', 'waiting', 'list'))
  assert.equal(after.length, PUPILS - 1)
  assert.ok(!after.some((w) => w.record_id === last), '强制导入的记录不应再等待')
})
