// End-to-end: 学户册 is ONE virtualised list over every household of the register. A county of
// about 5,000 households (the demo county, about 2,000, plus 3,000 more imported from a 学户册 CSV through the
// CLI) is opened; the list is as long as the roster, only the rows on screen are drawn, and
// scrolling far down (and to the very end) shows exactly the households the CLI lists at those
// places. A click on a far-down household opens it with its children; search still narrows it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, texts, waitText, shot, click, type, cli, TMP, T, log } from './harness.mjs'

useDriver()

const SURNAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜'
const GIVEN = ['建国', '秀英', '国强', '桂兰', '志明', '海燕', '立新', '春梅']

const PINYIN_ROW = 1234

/** 3,000 households of the demo county's 4 villages of 200 (each with one child, no numbers). */
function extraRoster() {
  const lines = ['\ufeff村代码,户主姓名,户主身份证号,家庭住址,联系电话,重点户类别,儿童姓名,性别,出生日期,身份证号,是否留守儿童,残疾类别,监护人姓名,监护人关系,监护人电话']
  for (let i = 0; i < 3000; i++) {
    const head = SURNAMES[i % SURNAMES.length] + GIVEN[Math.floor(i / SURNAMES.length) % GIVEN.length] + SURNAMES[(i * 7) % SURNAMES.length]
    const village = `4104992002${String(1 + (i % 4)).padStart(2, '0')}`
    // One child with initials no other child has (oynn), for the pinyin search.
    const child = i === PINYIN_ROW ? '欧阳娜娜' : `${head[0]}小${i % 10}`
    lines.push(`${village},${head},,滚动村${Math.floor(i / 100) + 1}组${(i % 100) + 1}号,,,${child},男,2016-0${1 + (i % 9)}-1${i % 9},,,,,,`)
  }
  return lines.join('\r\n') + '\r\n'
}

/** The rows drawn now: [{n, head}] (head null while its stretch is still loading). */
const DRAWN = `return Array.from(document.querySelectorAll('[data-test="roster-table"] .el-table-v2__row')).map((r) => {
  const n = r.querySelector('[data-test="roster-n"]'); const h = r.querySelector('[data-test="roster-head"]')
  const v = r.querySelector('[data-test="roster-village"]')
  return { n: n ? Number(n.innerText.replace(/\\D/g, '')) : 0, head: h ? h.innerText.trim() : null,
    village: v ? v.innerText.trim() : null } })`

/** Scrolls the list's window to FRACTION of its height, as the wheel or the scroll bar would. */
const SCROLL = `const w = document.querySelector('[data-test="roster-table"] .el-table-v2__main .el-table-v2__body > div')
  w.scrollTop = (w.scrollHeight - w.clientHeight) * arguments[0]; return w.scrollHeight`

/** Waits until every drawn row has its household, all past FROM; returns them. */
async function drawnPast(d, from) {
  let rows = []
  await d.wait(async () => {
    rows = await d.executeScript(DRAWN)
    return rows.length > 0 && rows.every((r) => r.head && r.n > from)
  }, T, `滚动后没有显示第 ${from} 户以后的户（当时：${JSON.stringify(rows.slice(0, 3))}）`)
  return rows
}

test('学户册 scrolls through all 5,000 or so households of a county', { timeout: 300000 }, async () => {
  const db = path.join(TMP, 'roster.db')
  const demo = JSON.parse(cli(db, '--json', 'demo'))
  const N = demo.households + 3000
  const countText = N.toLocaleString('zh-CN')
  const csv = path.join(TMP, '滚动村学户册.csv')
  fs.writeFileSync(csv, extraRoster())
  cli(db, 'import', 'households', csv)
  // The roster in the CLI's order (village, head, id): the place of every household.
  const all = JSON.parse(cli(db, '--json', 'household', 'list', '--limit', '10000'))
  assert.equal(all.length, N)
  log(`register ready: ${countText} households`)

  const d = await openApp(db)
  try {
    await waitText(d, '[data-test="site-name"]', '青山县')
    await find(d, '[data-test="roster-head"]', 60000)
    await waitText(d, '[data-test="roster-count"]', countText)
    const first = await drawnPast(d, 0)
    assert.equal(first[0].n, 1)
    assert.equal(first[0].head, all[0].head_name)
    // Virtualised: a few dozen rows drawn, not five thousand.
    assert.ok(first.length < 80, `应只绘出屏幕上的几十行，实为 ${first.length} 行`)

    // Far down (80 %): rows around household 4,000, each the one the CLI lists there.
    await d.executeScript(SCROLL, 0.8)
    const far = await drawnPast(d, 3500)
    for (const r of far) assert.equal(r.head, all[r.n - 1].head_name, `第 ${r.n} 户`)
    // The village by its name from the county's division list, not its 12-digit code.
    const villages = new Map(JSON.parse(cli(db, '--json', 'division', 'list')).map((v) => [v.code, v.name]))
    for (const r of far) assert.equal(r.village, villages.get(all[r.n - 1].village_code) ?? all[r.n - 1].village_code, `第 ${r.n} 户的村`)
    assert.ok(far.length < 80, `应只绘出屏幕上的几十行，实为 ${far.length} 行`)
    await shot(d, '57-roster-virtual.png')

    // The very end: the last household is there.
    await d.executeScript(SCROLL, 1)
    await d.wait(async () => (await d.executeScript(DRAWN)).some((r) => r.n === N && r.head), T, `滚动到底后没有显示第 ${countText} 户`)
    const end = await d.executeScript(DRAWN)
    for (const r of end.filter((x) => x.head)) assert.equal(r.head, all[r.n - 1].head_name, `第 ${r.n} 户`)

    // A click on a far-down household opens it with its children (numbers masked).
    const pick = end.find((r) => r.n === N)
    const want = all[pick.n - 1]
    await d.executeScript(`const rows = Array.from(document.querySelectorAll('[data-test="roster-table"] .el-table-v2__row'))
      const r = rows.find((x) => x.querySelector('[data-test="roster-n"]').innerText.replace(/\\D/g, '') === String(arguments[0])); r.click()`, N)
    await waitText(d, '[data-test="household-dialog"]', want.head_name)
    for (const c of want.children) await waitText(d, '[data-test="household-children"]', c.name)
    const shown = (await texts(d, '[data-test="household-dialog"]')).join('\n')
    assert.ok(!/\d{17}[\dX]/.test(shown), '户的详情中身份证号应隐去')
    await shot(d, '58-household-dialog.png')
    await click(d, '[data-test="household-dialog"] .el-dialog__headerbtn')

    // Search narrows the list to the matching households (one imported far down).
    const target = all.find((h) => h.address && h.address.startsWith('滚动村30组'))
    await type(d, 'roster-search', target.head_name)
    await d.wait(async () => {
      const rows = await d.executeScript(DRAWN)
      return rows.length > 0 && rows.every((r) => r.head && r.head.includes(target.head_name))
    }, T, `查找“${target.head_name}”后，列表中仍有不含该姓名的户`)
    await waitText(d, '[data-test="roster-count"]', '找到')

    // Pinyin initials of a child's name find its household.
    const ouyang = all.find((h) => h.children.some((c) => c.name === '欧阳娜娜'))
    await type(d, 'roster-search', 'oynn')
    await waitText(d, '[data-test="roster-count"]', '找到 1 户')
    const hit = await d.executeScript(DRAWN)
    assert.deepEqual(hit.map((r) => r.head), [ouyang.head_name])
  } finally {
    await d.quit()
  }
})
