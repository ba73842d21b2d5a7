// End-to-end test of the case work in the real app (harness in harness.mjs). The register is
// prepared with the CLI before the app opens: the demo county, and six school days of absences
// of one pupil (an attendance warning). In the app: 首页 shows what is due; 比对核查 lists the
// suspected children with masked IDs, makes home-visit tasks, a visit finds 确认失学辍学 → a case
// opens; 个案 offers only the legal moves, issues and prints the 限期返校通知书 (IDs masked),
// records a persuasion attempt, 劝返中 → 已复学 → 销号, and the list shows it closed; lists export
// as .xlsx and CSV with BOM; 考勤 saves a class's day from the keyboard and lists the warning.
// Screenshots 30-37.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Key } from 'selenium-webdriver'
import { useDriver, openApp, find, field, type, texts, waitText, shot, click, APP, TMP, T, log, DOCUMENTS } from './harness.mjs'

useDriver()

const CLI = process.env.BAOXUE_CLI || path.join(path.dirname(APP || '.'), 'baoxue')
const FULL_ID = /\d{17}[\dX]/
const MASKED_ID = /\d{6}\*{8}\d{3}[\dX]/
const FRAME_HTML = 'const f = document.querySelector(\'[data-test="case-print-dialog"] iframe\'); return f ? f.srcdoc : null'

function cli(db, args) {
  return execFileSync(CLI, ['--db', db, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, BAOXUE_OPERATOR: '测试员' } })
}

const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`

/** The last n weekdays before today, oldest first. */
function weekdaysBefore(n) {
  const out = []
  const d = new Date()
  while (out.length < n) {
    d.setDate(d.getDate() - 1)
    if (d.getDay() !== 0 && d.getDay() !== 6) out.unshift(iso(d))
  }
  return out
}

/** Clicks the button CSS inside the first row of TABLE whose text contains TEXT. */
async function clickInRow(d, table, text, button) {
  await waitText(d, `${table} :is(.el-table__row, .el-table-v2__row)`, text)
  const ok = await d.executeScript(`
    const row = Array.from(document.querySelectorAll(arguments[0] + ' :is(.el-table__body .el-table__row, .el-table-v2__row)'))
      .find((r) => r.innerText.includes(arguments[1]) && r.getBoundingClientRect().height > 0)
    const b = row && row.querySelector(arguments[2])
    if (b) b.click()
    return !!b`, table, text, button)
  assert.ok(ok, `${table} 中含“${text}”的行里没有 ${button}`)
}

/** The path after “到 ” in an export result line, once it names a file of this extension. */
async function exported(d, test, ext) {
  await waitText(d, `[data-test="${test}-result"]`, `.${ext}`)
  const line = (await texts(d, `[data-test="${test}-result"]`))[0]
  const file = line.slice(line.indexOf('到 ') + 2).trim()
  assert.ok(file.endsWith(`.${ext}`), `导出结果应为 .${ext} 文件：${line}`)
  assert.ok(fs.existsSync(file), `导出的文件应存在：${file}`)
  assert.ok(file.startsWith(DOCUMENTS), `导出应写在本次测试的临时文档文件夹 ${DOCUMENTS} 中：${file}`)
  return file
}

function checkCsv(file) {
  const bytes = fs.readFileSync(file)
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'CSV 应以 UTF-8 BOM 开头')
  const text = bytes.subarray(3).toString('utf8')
  assert.ok(!FULL_ID.test(text), 'CSV 中的身份证号默认应隐去')
  return text
}

test('cross-check → home visit → case → persuasion → return → 销号, notices and exports', { timeout: 600000 }, async () => {
  const db = path.join(TMP, 'casework.db')
  cli(db, ['demo'])
  // One pupil absent without leave for the last six school days: an attendance warning today.
  const snap = JSON.parse(cli(db, ['snapshot', '--json'])).tables
  const pupil = snap.enrolments.find((e) => e.status === 'studying' && e.student_no && e.grade && e.class_name)
  const pupilName = snap.children.find((c) => c.id === pupil.child_id).name
  let recorded = 0
  for (const day of weekdaysBefore(6)) {
    try {
      cli(db, ['attendance', 'record', '--school', pupil.school_code, '--grade', String(pupil.grade),
        '--class', pupil.class_name, '--date', day, '--absent', pupil.student_no])
      recorded++
    } catch (e) {
      log(`考勤 ${day} 未登记（节假日？）`)
    }
  }
  assert.ok(recorded >= 5, '应至少登记5个上课日的缺勤')
  // A roster child without an ID who is probably an enrolled pupil (same name, birth date, village).
  const kids = new Map(snap.children.map((c) => [c.id, c]))
  const [twin, other] = snap.enrolments.map((e) => e.status === 'studying' && kids.get(e.child_id))
    .filter((c) => c && c.household_id && c.village_code && c.birth_date && c.sex)
  assert.notEqual(twin.name, other.name)
  cli(db, ['household', 'add', '--head', '王大山', '--village', twin.village_code,
    '--child', `${twin.name},,${twin.birth_date},${twin.sex}`])
  cli(db, ['household', 'add', '--head', '刘二河', '--village', other.village_code,
    '--child', `${other.name},,${other.birth_date},${other.sex}`])
  const files = []

  const d = await openApp(db)
  try {
    // 首页: what is due today.
    await click(d, '[data-nav="home"]')
    await find(d, '[data-test="home-due"]')
    await waitText(d, '[data-test="home-warnings"]', '缺课达到预警')
    assert.match((await texts(d, '[data-test="home-warnings"]'))[0], /^\s*1\s*名/, '首页应显示1名学生达到缺课预警')
    await shot(d, '30-home-due.png')

    // 比对核查: the suspected list, IDs masked.
    await click(d, '[data-nav="crosscheck"]')
    await find(d, '[data-test="cc-suspected"] .el-table-v2__row', 60000)
    const listed = (await texts(d, '[data-test="cc-suspected"] .el-table-v2__body')).join('\n')
    assert.ok(!FULL_ID.test(listed), '疑似名单中的身份证号应隐去')
    assert.match(listed, MASKED_ID)
    assert.match(listed, /学籍无/, '每名孩子应有列入原因')
    await waitText(d, '[data-test="cc-sources"]', '学户册')
    await shot(d, '31-crosscheck.png')
    await click(d, '[data-test="cc-export-csv"]')
    const suspectedCsv = await exported(d, 'cc-export', 'csv')
    files.push(suspectedCsv)
    checkCsv(suspectedCsv)
    // Full numbers only after the confirmation (the core audits it), into a new file.
    await click(d, '[data-test="cc-export-full"]')
    await click(d, '[data-test="cc-export-csv"]')
    await click(d, '.el-message-box__btns .el-button--primary')
    await d.wait(async () => !(await texts(d, '[data-test="cc-export-result"]'))[0].includes(suspectedCsv), T, '完整号码的名单没有导出')
    const fullCsv = await exported(d, 'cc-export', 'csv')
    files.push(fullCsv)
    assert.notEqual(fullCsv, suspectedCsv, '再次导出不应覆盖先前的文件')
    assert.ok(fs.existsSync(suspectedCsv), '先前导出的文件应仍在')
    assert.ok(FULL_ID.test(fs.readFileSync(fullCsv, 'utf8')), '确认后导出的名单应含完整身份证号')
    await click(d, '[data-test="cc-export-full"]')

    // Probable matches: one confirmed as the same child leaves the list; the other is found to be
    // someone else, so that child is listed as suspected.
    const suspectedBefore = Number((await texts(d, '#tab-suspected'))[0].replace(/\D/g, ''))
    await click(d, '#tab-confirm')
    await waitText(d, '#tab-confirm', '待确认匹配（2）')
    await shot(d, '38-probable-matches.png')
    await clickInRow(d, '[data-test="cc-to-confirm"]', twin.name, '[data-test="cc-confirm"]')
    await waitText(d, '#tab-confirm', '待确认匹配（1）')
    await clickInRow(d, '[data-test="cc-to-confirm"]', other.name, '[data-test="cc-reject"]')
    await (await find(d, '.el-message-box__input input')).sendKeys('父母姓名不同')
    await click(d, '.el-message-box__btns .el-button--primary')
    await waitText(d, '#tab-confirm', '待确认匹配（0）')
    await click(d, '#tab-suspected')
    await waitText(d, '#tab-suspected', `疑似名单（${suspectedBefore + 1}）`)
    // The list is virtualised (only the rows on screen are drawn): find the child with its filter.
    await type(d, 'cc-suspected-filter', other.name)
    await waitText(d, '[data-test="cc-suspected"] .el-table-v2__row', other.name)
    await (await field(d, 'cc-suspected-filter')).sendKeys(Key.chord(Key.CONTROL, 'a'), Key.BACK_SPACE)

    // Home-visit tasks per village; the first child is found out of school.
    await click(d, '[data-test="cc-create-tasks"]')
    await find(d, '[data-test="cc-tasks"] .el-table__row', 60000)
    await find(d, '[data-test="cc-task-group"]')
    // A child with an ID number (masked on screen), so that the notice shows a masked one.
    const taskRows = await texts(d, '[data-test="cc-tasks"] .el-table__body .el-table__row')
    const picked = taskRows.find((r) => MASKED_ID.test(r))
    assert.ok(picked, '核查任务中应有带身份证号的孩子')
    const child = picked.trim().split(/\s+/)[0]
    const childId = picked.match(MASKED_ID)[0]
    log(`核查：${child} ${childId}`)
    await clickInRow(d, '[data-test="cc-tasks"]', childId, '[data-test="cc-record"]')
    await find(d, '[data-test="cc-finding-dialog"]')
    await click(d, '[data-test="cc-finding-confirmed_out"]')
    await type(d, 'cc-found-by', '村干部李华')
    await shot(d, '32-finding.png')
    await click(d, '[data-test="cc-finding-save"]')
    await waitText(d, '[data-test="cc-case-opened"]', child)

    // 个案: the new case offers only the legal moves.
    await click(d, '[data-nav="cases"]')
    await clickInRow(d, '[data-test="cases-table"]', child, '[data-test="case-open"]')
    await waitText(d, '[data-test="case-file-state"]', '已确认辍学')
    const offered = await d.executeScript(`return Array.from(document.querySelectorAll('[data-test="case-actions"] [data-test^="case-to-"]'))
      .map((b) => b.getAttribute('data-test')).sort()`)
    assert.deepEqual(offered, ['case-to-closed', 'case-to-persuading'], '已确认辍学只能变为劝返中或销号')

    // 限期返校通知书: issued, printable, IDs masked.
    await click(d, '[data-test="case-notice"]')
    await click(d, '[data-test="notice-issue"]')
    await d.wait(async () => ((await d.executeScript(FRAME_HTML)) || '').includes('限期返校通知书'), T, '限期返校通知书没有显示出来')
    const notice = await d.executeScript(FRAME_HTML)
    assert.ok(notice.includes(child), '通知书应写明孩子姓名')
    assert.ok(!FULL_ID.test(notice), '通知书中的身份证号应隐去')
    assert.match(notice, MASKED_ID)
    await d.sleep(600)
    await shot(d, '33-return-notice.png')
    await click(d, '[data-test="case-print-dialog"] .el-dialog__headerbtn')

    // A joint persuasion attempt, typed and saved with Enter.
    await click(d, '[data-test="case-attempt"]')
    await type(d, 'attempt-participants', '李老师（学校）、张主任（镇政府）')
    await click(d, '[data-test="attempt-joint"]')
    await (await find(d, 'textarea[data-test="attempt-said"]')).sendKeys('讲明义务教育法规定，孩子必须完成九年义务教育')
    const result = await type(d, 'attempt-result', '家长同意送孩子返校')
    await result.sendKeys(Key.ENTER)
    await waitText(d, '[data-test="case-timeline"]', '家长同意送孩子返校')

    // 劝返中 → 已复学 (school and placement) → 销号.
    await click(d, '[data-test="case-to-persuading"]')
    await click(d, '[data-test="move-save"]')
    await waitText(d, '[data-test="case-file-state"]', '劝返中')
    await click(d, '[data-test="case-to-returned"]')
    await click(d, '[data-test="move-school"] .el-select__wrapper')
    await click(d, '.el-select-dropdown__item')
    await click(d, '[data-test="move-save"]')
    await waitText(d, '[data-test="case-file-state"]', '已复学')
    await shot(d, '34-case-file.png')
    // The 一人一档 prints from the case file, IDs masked, with the case's timeline.
    await click(d, '[data-test="case-child-file"]')
    await d.wait(async () => ((await d.executeScript(FRAME_HTML)) || '').includes('一人一档'), T, '一人一档没有显示出来')
    const childFile = await d.executeScript(FRAME_HTML)
    assert.ok(childFile.includes('家长同意送孩子返校'), '一人一档应有劝返记录')
    assert.ok(!FULL_ID.test(childFile), '一人一档中的身份证号应隐去')
    await click(d, '[data-test="case-print-dialog"] .el-dialog__headerbtn')
    await click(d, '[data-test="case-to-closed"]')
    await type(d, 'move-reason', '已返校复学，稳定在校')
    const approver = await type(d, 'move-approver', '王局长')
    await approver.sendKeys(Key.ENTER)
    await waitText(d, '[data-test="case-file-state"]', '销号')
    assert.equal(await d.executeScript(`return document.querySelectorAll('[data-test="case-actions"] [data-test^="case-to-"]').length`), 0,
      '销号后不应再有状态变更按钮')
    await click(d, '[data-test="case-drawer"] .el-drawer__close-btn')

    // The list shows it closed; the list exports.
    await d.wait(async () => (await texts(d, '[data-test="cases-table"] .el-table-v2__row'))
      .some((r) => r.includes(child) && r.includes('销号')), T, '个案列表中应显示该个案已销号')
    await shot(d, '35-cases.png')
    await click(d, '[data-test="cases-export-xlsx"]')
    const xlsx = await exported(d, 'cases-export', 'xlsx')
    assert.ok(fs.statSync(xlsx).size > 1000)
    files.push(xlsx)
    await click(d, '[data-test="cases-export-csv"]')
    const csv = await exported(d, 'cases-export', 'csv')
    files.push(csv)
    assert.ok(checkCsv(csv).split('\n').some((l) => l.includes(child) && l.includes('销号')), 'CSV 中应有该个案，已销号')

    // 考勤: the class's entry sheet, keys on a row, Enter saves; the warnings list.
    await click(d, '[data-nav="attendance"]')
    const row = await find(d, '[data-test="att-row-0"]', 60000)
    await d.executeScript('arguments[0].focus()', row)
    await row.sendKeys('3')
    const weekday = ![0, 6].includes(new Date().getDay())
    await (await find(d, '[data-test="att-row-1"]')).sendKeys(Key.ENTER)
    if (weekday) {
      await find(d, '[data-test="att-saved"]')
    } else {
      await waitText(d, '[data-test="att-error"]', '上课日')
    }
    await shot(d, '36-attendance.png')
    // An unsaved mark is not lost by choosing another class: the app asks first.
    await (await find(d, '[data-test="att-row-2"]')).sendKeys('2')
    await waitText(d, '.sum', '未保存')
    await click(d, '[data-test="att-class"] .el-select__wrapper')
    await find(d, '.el-select-dropdown__item')
    await d.executeScript(`const items = Array.from(document.querySelectorAll('.el-select-dropdown__item'))
      .filter((e) => e.getBoundingClientRect().height > 0); items[1].click()`)
    await waitText(d, '.el-message-box', '还没有保存')
    await click(d, '.el-message-box__btns .el-button:not(.el-button--primary)')
    await waitText(d, '.sum', '未保存')
    assert.match((await texts(d, '[data-test="att-row-2"]'))[0], /缺勤/)
    await click(d, '#tab-warnings')
    await waitText(d, '[data-test="warn-table"]', pupilName)
    const warned = (await texts(d, '[data-test="warn-table"] .el-table__body')).join('\n')
    assert.match(warned, /疑似辍学/)
    assert.ok(!FULL_ID.test(warned), '预警名单中的身份证号应隐去')
    await shot(d, '37-warnings.png')
    await click(d, '[data-test="warn-export-xlsx"]')
    files.push(await exported(d, 'warn-export', 'xlsx'))

    // Leaving 考勤 with the unsaved mark asks too; 放弃改动 leaves.
    await click(d, '[data-nav="roster"]')
    await waitText(d, '.el-message-box', '还没有保存')
    await click(d, '.el-message-box__btns .el-button--primary')

    // The other lists on screen export the same way: 学户册 and the children behind a figure.
    await find(d, '[data-test="roster-table"] [data-test="roster-head"]', 60000)
    await click(d, '[data-test="roster-export-csv"]')
    const rosterCsv = await exported(d, 'roster-export', 'csv')
    files.push(rosterCsv)
    assert.ok(checkCsv(rosterCsv).split('\n').length > 2000, '学户册应整册导出')
    await click(d, '[data-nav="reports"]')
    await click(d, '[data-test="stats-drill"]', 60000)
    await find(d, '[data-test="drill-dialog"] .el-table-v2__row', 60000)
    await click(d, '[data-test="drill-export-xlsx"]')
    files.push(await exported(d, 'drill-export', 'xlsx'))
    await click(d, '[data-test="drill-dialog"] .el-dialog__headerbtn')

    // 首页's “cases that need action” opens the case list filtered to them.
    await click(d, '[data-nav="home"]')
    await click(d, '[data-test="home-cases"]')
    await find(d, '[data-test="cases-table"] .el-table-v2__row', 60000)
    const needing = await texts(d, '[data-test="cases-table"] .el-table-v2__row')
    assert.ok(needing.length > 0 && needing.every((r) => !r.includes('销号')), '待办个案中不应有已销号的个案')
  } finally {
    await d.quit()
    for (const f of files) fs.rmSync(f, { force: true })
  }
})
