// End-to-end: a conflict resolved side by side. A school and the county (registers made with the
// CLI) hold the same pupils (the school's first bundle). Then both edit the same child from that
// version: the school imports a roll sheet with 王小明's address as 张庄村5组, the county one with
// 张庄村7组. In the app on the county's register, 数据交换 imports the school's next bundle: one
// conflict. 对比处理 shows both sides with the differing field marked; keeping the school's side
// without a reason is refused, with a reason it is resolved, the list is empty, and the register
// holds the kept address.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, waitAppExit, TMP, log, cli, schoolAndCounty, importBundles } from './harness.mjs'

useDriver()

const roll = (address) => '姓名,性别,出生日期,身份证号,年级,班级,现住址\n' +
  `王小明,男,2015-03-08,410423201503080019,5,1,${address}\n李小花,女,2016-05-01,41042320160501002X,4,2,张庄村1组\n`

test('two sites edit the same child: the conflict is resolved side by side with a reason', { timeout: 300000 }, async () => {
  const { school, county } = schoolAndCounty()
  const sheet = (name, address) => {
    const f = path.join(TMP, name)
    fs.writeFileSync(f, roll(address))
    return f
  }
  cli(school, 'import', 'roll', sheet('roll1.csv', '张庄村3组'), '--school', '4141000001', '--term', '2026秋')
  const first = path.join(TMP, 'first.bxb')
  cli(school, 'bundle', 'export', '--out', first)
  cli(county, 'bundle', 'import', first)
  // Both edit 王小明 from the version they share.
  cli(school, 'import', 'roll', sheet('roll2.csv', '张庄村5组'), '--school', '4141000001', '--term', '2026秋')
  cli(county, 'import', 'roll', sheet('roll3.csv', '张庄村7组'), '--school', '4141000001', '--term', '2026秋')
  const usb = path.join(TMP, 'U盘')
  fs.mkdirSync(usb)
  cli(school, 'bundle', 'export', '--out', path.join(usb, 'second.bxb'))

  const d = await openApp(county)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="exchange"]')
    await importBundles(d, usb)
    await find(d, '[data-test="bundle-status-applied"]', 120000)
    await waitText(d, '[data-test="bundle-results"]', '冲突 1 条')
    // The table is named as a clerk calls it; the SQL name stays in the tooltip.
    await waitText(d, '[data-test="conflicts-table"]', '儿童')
    assert.equal(await d.executeScript(`return document.querySelector('[data-test="conflict-table"]').title`), 'children')
    await click(d, '[data-test="conflict-open"]')
    await find(d, '[data-test="conflict-sides"]')
    // The differing field is marked; find the school's side (张庄村5组) by its column.
    const rows = await d.executeScript(`return Array.from(document.querySelectorAll('[data-test="conflict-sides"] .el-table__body tr'))
      .map((tr) => ({ differs: tr.classList.contains('differs'), cells: Array.from(tr.querySelectorAll('td')).map((td) => td.innerText.trim()) }))`)
    const address = rows.find((r) => r.cells.slice(1).some((c) => c.includes('张庄村5组')))
    assert.ok(address, `对比表中应有住址一行：${JSON.stringify(rows).slice(0, 400)}`)
    assert.ok(address.differs, '不同的字段应标出')
    assert.ok(address.cells.slice(1).some((c) => c.includes('张庄村7组')), '两方的住址都应显示')
    const side = address.cells.slice(1).findIndex((c) => c.includes('张庄村5组'))
    log(`school's side is column ${side}`)
    await click(d, `[data-test="conflict-keep-${side}"]`)
    await click(d, '[data-test="conflict-resolve"]')
    await waitText(d, '.el-message', '理由')
    await type(d, 'conflict-reason', '已与学校核实：王小明家已搬到5组')
    await shot(d, '55-exchange-conflict.png')
    await click(d, '[data-test="conflict-resolve"]')
    await waitText(d, '[data-test="conflicts-table"]', '没有待处理的冲突')
  } finally {
    await d.quit()
  }
  await waitAppExit(county)
  assert.equal(JSON.parse(cli(county, '--json', 'conflicts', 'list')).length, 0)
  const snap = cli(county, 'snapshot')
  assert.ok(snap.includes('张庄村5组') && !snap.includes('张庄村7组'), '登记库应保留学校一方的住址')
})
