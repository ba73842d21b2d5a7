// End-to-end: the 学籍 wizard takes a village household roster (学户册) and a department list, not
// only roll sheets. On a county register (made with the CLI): a 学户册 CSV (UTF-8 with BOM, as
// the template is filled in: 3 households, 4 children, one row's ID with a wrong check digit) is
// previewed and imported, the report counts the households, and 学户册 lists them; then a 民政
// list (CSV) is imported with its department, the report counts its row and shows its warnings
// (a village name the county's division list lacks), and the list's source is registered.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, TMP, log, cli, wizardPreview, wizardRun } from './harness.mjs'

useDriver()


/** Clicks the option of an open Element Plus select whose text includes TEXT. */
async function pickOption(d, text) {
  log(`option ${text}`)
  const end = Date.now() + 10000
  for (;;) {
    const ok = await d.executeScript(`const li = Array.from(document.querySelectorAll('.el-select-dropdown__item'))
      .find((e) => e.innerText.includes(arguments[0]) && e.getBoundingClientRect().height > 0)
      if (li) li.click(); return !!li`, text)
    if (ok) return
    if (Date.now() > end) throw new Error(`下拉框中没有“${text}”`)
    await d.sleep(150)
  }
}

const ROSTER = '\ufeff村代码,户主姓名,户主身份证号,家庭住址,联系电话,重点户类别,儿童姓名,性别,出生日期,身份证号,是否留守儿童,残疾类别,监护人姓名,监护人关系,监护人电话\r\n' +
  '410423100201,王大山,,张庄村3组12号,13812345678,低保户,王小明,男,,410423201503080019,是,无,王大山,父亲,13812345678\r\n' +
  '410423100201,王大山,,张庄村3组12号,13812345678,低保户,王小红,女,2019-06-01,,否,听力,王大山,父亲,13812345678\r\n' +
  '410423100201,李四,,张庄村1组2号,,低保户,李小花,女,,41042320160501002X,否,,,,\r\n' +
  '410423100201,赵五,,张庄村2组,,,赵小,男,2018-01-01,,,,,,\r\n' +
  '410423100201,钱六,,张庄村4组,,,钱小,男,,410423201601010011,,,,,\r\n'
const WELFARE = '姓名,证件号码,救助类别,乡镇（街道）,村（居）委会\r\n王小明,410423201503080019,孤儿,城关镇,张庄村\r\n'

test('a household roster and a department list through the 学籍 wizard', { timeout: 300000 }, async () => {
  const db = path.join(TMP, 'county.db')
  cli(db, 'init', '--kind', 'county', '--name', '测试县教育局', '--region', '410423')
  const roster = path.join(TMP, '张庄村学户册.csv')
  const welfare = path.join(TMP, '民政救助名单.csv')
  fs.writeFileSync(roster, ROSTER)
  fs.writeFileSync(welfare, WELFARE)

  const d = await openApp(db)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="import"]')

    // The roster: preview (the refused row with its number), import, report.
    await click(d, '[data-test="import-kind-households"]')
    await wizardPreview(d, roster)
    await waitText(d, '[data-test="preview-mapping"]', '户主姓名')
    await waitText(d, '[data-test="preview-errors"]', '校验')
    const errors = (await texts(d, '[data-test="preview-errors"] .el-table__row')).map((r) => r.replace(/\s+/g, ' '))
    assert.ok(errors.some((r) => r.startsWith('6 ')), `第6行（钱小，校验位错）应被拒收：${errors.join(' | ')}`)
    await wizardRun(d)
    await waitText(d, '[data-test="report-counts"]', '户：新增 3')
    assert.equal((await texts(d, '[data-test="report-inserted"]'))[0].trim(), '4')
    assert.equal((await texts(d, '[data-test="report-refused-count"]'))[0].trim(), '1')
    await shot(d, '53-import-roster.png')
    await click(d, '[data-nav="roster"]')
    await waitText(d, '[data-test="roster-table"]', '王大山')
    await waitText(d, '[data-test="roster-table"]', '李四')

    // The 民政 list: its kind, department and date; the report counts its row.
    await click(d, '[data-nav="import"]')
    await click(d, '[data-test="import-kind-list"]')
    await click(d, '[data-test="import-list-kind"] .el-select__wrapper')
    await pickOption(d, '民政')
    await type(d, 'import-source', '测试县民政局')
    await wizardPreview(d, welfare)
    await waitText(d, '[data-test="preview-mapping"]', '证件号码')
    await wizardRun(d)
    await waitText(d, '[data-test="report-counts"]', '读取 1 行')
    assert.equal((await texts(d, '[data-test="report-inserted"]'))[0].trim(), '1')
    // A township or village name the county's division list lacks is kept and shown as a warning.
    await waitText(d, '.el-card', '不在本县区划名单中')
    await shot(d, '54-import-list.png')
  } finally {
    await d.quit()
  }
  const sources = cli(db, 'list', 'sources')
  assert.ok(sources.includes('测试县民政局'), `部门名单的来源应已登记：${sources}`)
})
