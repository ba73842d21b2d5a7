// End-to-end: a bundle whose clock is years ahead is held, then accepted from the app. A school
// register (made with the CLI) whose clock was set three years ahead imports a small roll sheet
// and exports a bundle to the county. In the app on the county's register, 数据交换 imports it:
// the result is 已暂扣, nothing is applied, and 暂扣的数据包 lists it with its reason. Accepting
// without a reason is refused; with a reason the bundle is applied (the pupils are counted) and
// the decision is recorded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { useDriver, openApp, find, type, waitText, shot, click, waitAppExit, TMP, cli, schoolAndCounty, importBundles } from './harness.mjs'

useDriver()

const children = (db) => Number(execFileSync('sqlite3', [db, 'SELECT count(*) FROM children'], { encoding: 'utf8' }).trim())

test('a bundle from a clock three years ahead is held, then accepted with a reason', { timeout: 600000 }, async () => {
  const { school, county } = schoolAndCounty()
  // The school's computer clock runs three years ahead: every version it stamps is in the future.
  const ahead = Date.now() + 3 * 365 * 24 * 3600 * 1000
  execFileSync('sqlite3', [school, `UPDATE clock SET last_ms = ${ahead}, counter = 0`])
  const roll = path.join(TMP, 'roll.xlsx')
  cli(school, 'bench', 'gen', '--rows', '12', '--out', roll)
  cli(school, 'import', 'roll', roll, '--school', '4141000001', '--term', '2026秋')
  const usb = path.join(TMP, 'U盘')
  fs.mkdirSync(usb)
  cli(school, 'bundle', 'export', '--out', path.join(usb, 'ahead.bxb'))

  // (The system's sqlite3 must not read a register the app holds open: it is another SQLite build
  // and the app's connection then reads “file is not a database”. The CLI is the same build.)
  const before = cli(county, 'snapshot')
  const d = await openApp(county)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="exchange"]')
    await importBundles(d, usb)
    await find(d, '[data-test="bundle-status-held"]', 120000)
    await waitText(d, '[data-test="held-table"]', '城关第一小学')
    await waitText(d, '[data-test="held-reason"]', '时钟')
    assert.equal(cli(county, 'snapshot'), before, '暂扣的数据包不应写入任何记录')

    await click(d, '[data-test="held-accept"]')
    await find(d, '[data-test="decide-dialog"]')
    await click(d, '[data-test="decide-save"]')
    await waitText(d, '[data-test="decide-error"]', '理由')
    await type(d, 'decide-reason', '已电话核实：学校电脑日期设错，数据无误')
    await shot(d, '52-exchange-held.png')
    await click(d, '[data-test="decide-save"]')
    await waitText(d, '[data-test="held-result"]', '已接受', 120000)
    await waitText(d, '[data-test="held-result"]', '写入')
    await waitText(d, '[data-test="held-table"]', '没有暂扣的数据包')
  } finally {
    await d.quit()
  }
  await waitAppExit(county)
  // The county now holds the school's twelve pupils, and the clerk's decision is on record.
  assert.equal(children(county), 12)
  assert.equal(JSON.parse(cli(county, '--json', 'bundle', 'held', 'list')).length, 0)
  const decided = execFileSync('sqlite3', [county, "SELECT action || '|' || reason FROM bundle_decisions"], { encoding: 'utf8' })
  assert.match(decided, /accept_held\|已电话核实/)
})
