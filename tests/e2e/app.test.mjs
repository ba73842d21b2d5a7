// End-to-end test of the real 保学 desktop app: tauri-driver (WebDriver) over Debian's
// WebKitWebDriver drives the built binary under Xvfb (see scripts/test). It sets up a site on a
// fresh register, adds a household with a child through the form, restarts the app and finds them
// again; then loads the demo county into a second register and searches it. Every screen visited
// is saved as a screenshot into docs/screenshots/ (the README shows them).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { Builder, By, Key } from 'selenium-webdriver'

const ROOT = process.env.BAOXUE_ROOT || path.resolve(import.meta.dirname, '../..')
const APP = process.env.BAOXUE_APP
const PORT = Number(process.env.TAURI_DRIVER_PORT || 4444)
const NATIVE_PORT = Number(process.env.TAURI_DRIVER_NATIVE_PORT || 4445)
const SHOTS = path.join(ROOT, 'docs', 'screenshots')
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'baoxue-e2e-'))
/** Where a failed wait leaves a screenshot of the screen (kept after the run). */
const FAILS = fs.mkdtempSync(path.join(os.tmpdir(), 'baoxue-e2e-failed-'))

let driverProcess

function waitForPort(port, ms) {
  const end = Date.now() + ms
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => { s.end(); resolve() })
      s.once('error', () => {
        if (Date.now() > end) reject(new Error(`tauri-driver 未在端口 ${port} 启动`))
        else setTimeout(attempt, 200)
      })
    }
    attempt()
  })
}

before(async () => {
  assert.ok(APP && fs.existsSync(APP), `找不到程序文件 BAOXUE_APP=${APP}`)
  fs.mkdirSync(SHOTS, { recursive: true })
  const bin = path.join(os.homedir(), '.cargo', 'bin', 'tauri-driver')
  driverProcess = spawn(fs.existsSync(bin) ? bin : 'tauri-driver',
    ['--port', String(PORT), '--native-port', String(NATIVE_PORT)],
    // Not inherited: an app that outlives its session would hold the test runner's output open.
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(FAILS, 'tauri-driver.log'), 'a')] })
  await waitForPort(PORT, 20000)
})

after(() => {
  if (driverProcess) driverProcess.kill()
  // An app that did not exit when its session ended (seen once under load) must not keep the run
  // waiting: every app of this run has its register under TMP.
  try {
    execFileSync('pkill', ['-f', TMP])
  } catch (e) {
    // pkill exits 1 when nothing matched.
  }
  fs.rmSync(TMP, { recursive: true, force: true })
})

/** Starts the app on a register file and returns a WebDriver session. */
async function openApp(db) {
  const driver = await new Builder()
    .usingServer(`http://127.0.0.1:${PORT}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: APP, args: ['--db', db] } })
    .build()
  await driver.manage().setTimeouts({ implicit: 0 })
  return driver
}

const T = 30000

const T0 = Date.now()
/** Progress lines on stderr, so a hang shows where it happened. */
function log(msg) { process.stderr.write(`[e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`) }

const VISIBLE = `return Array.from(document.querySelectorAll(arguments[0])).find((e) => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 }) || null`

async function find(driver, css, ms = T) {
  log(`find ${css}`)
  // A plain polling loop, so that a failure names the selector.
  const end = Date.now() + ms
  for (;;) {
    try {
      // The first matching element laid out with a size, found in one script call (WebDriver's
      // isDisplayed atom hung at times under WebKitWebDriver, and getRect refused table rows).
      const el = await driver.executeScript(VISIBLE, css)
      if (el) return el
    } catch (e) {
      // The page was re-rendering: look again.
    }
    if (Date.now() > end) throw new Error(`界面上没有出现 ${css}（等了 ${ms / 1000} 秒；当时的屏幕：${failShot()}）`)
    await driver.sleep(150)
  }
}

/** The native <input> behind an Element Plus field marked data-test=NAME. */
async function field(driver, name) {
  const el = await find(driver, `[data-test="${name}"]`)
  const tag = await el.getTagName()
  return tag.toLowerCase() === 'input' ? el : el.findElement(By.css('input'))
}

async function type(driver, name, text) {
  log(`type ${name}`)
  const el = await field(driver, name)
  if (await el.getAttribute('value')) await el.sendKeys(Key.chord(Key.CONTROL, 'a'), Key.BACK_SPACE)
  await el.sendKeys(text)
  return el
}

/** Saves the screen at a failure into FAILS and returns the file's path. */
function failShot() {
  const file = path.join(FAILS, `${Date.now()}.png`)
  try {
    execFileSync('import', ['-window', 'root', file], { timeout: 20000 })
  } catch (e) {
    return `（截屏失败：${e.message}）`
  }
  return file
}

/** The rendered text of every element matching CSS, read in one script call. */
async function texts(driver, css) {
  return driver.executeScript('return Array.from(document.querySelectorAll(arguments[0])).map((e) => e.innerText)', css)
}

async function waitText(driver, css, text, ms = T) {
  log(`wait for “${text}” in ${css}`)
  const end = Date.now() + ms
  for (;;) {
    try {
      if ((await texts(driver, css)).some((t) => t.includes(text))) return
    } catch (e) {
      // An element replaced while we read it (Vue re-rendered): look again.
    }
    if (Date.now() > end) {
      throw new Error(`${css} 中没有出现“${text}”（等了 ${ms / 1000} 秒；当时的屏幕：${failShot()}）`)
    }
    await driver.sleep(150)
  }
}

/**
 * Saves the Xvfb screen as docs/screenshots/NAME. ImageMagick's `import -window root` rather than
 * WebDriver's takeScreenshot, which hangs for good in WebKitWebDriver under Xvfb (seen with
 * webkit2gtk 2.4x on Debian 12: the snapshot request never returns).
 */
async function shot(driver, name) {
  log(`shot ${name}`)
  await driver.sleep(400) // let transitions finish
  execFileSync('import', ['-window', 'root', path.join(SHOTS, name)], { timeout: 20000 })
}

/** A valid fictional ID number (GB 11643-1999 check character). */
function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...first17].reduce((s, c, i) => s + Number(c) * w[i], 0)
  return first17 + '10X98765432'[sum % 11]
}

const CHILD_ID = idNumber('41042320170615123') // born 2017-06-15, sequence odd → 男
const WRONG_ID = CHILD_ID.slice(0, 17) + (CHILD_ID[17] === '0' ? '1' : '0')

test('set up a village, add a household with a child, restart, still listed', { timeout: 300000 }, async () => {
  const db = path.join(TMP, 'village.db')
  let d = await openApp(db)
  try {
    // First start: the register is empty, the app offers set-up or demo data.
    await find(d, '[data-test="load-demo"]')
    await shot(d, '01-setup.png')

    // A wrong region code is refused with a Chinese message from the core.
    await type(d, 'site-name-input', '张庄村委会')
    await type(d, 'site-region', '4104231')
    await click(d, '[data-test="site-save"]')
    await waitText(d, '[data-test="setup-error"]', '区划代码')

    await type(d, 'site-region', '410423100201')
    await click(d, '[data-test="site-save"]')
    await waitText(d, '[data-test="site-name"]', '张庄村委会')
    await find(d, '[data-test="roster-table"]')

    // Add a household; the ID field checks the number as it is typed.
    await click(d, '[data-test="add-household"]')
    await type(d, 'head-name', '王建军')
    await type(d, 'phone', '13812345678')
    await type(d, 'address', '张庄村3组12号')
    await type(d, 'child-name-0', '王小雨')
    await type(d, 'child-id-0', WRONG_ID)
    await waitText(d, '[data-test="child-id-0-status"]', '校验位')
    const idField = await type(d, 'child-id-0', CHILD_ID)
    await waitText(d, '[data-test="child-id-0-status"]', '2017-06-15')
    const birth = await field(d, 'child-birth-0')
    assert.equal(await birth.getAttribute('value'), '2017-06-15')
    await shot(d, '02-add-household.png')

    // Enter saves.
    await idField.sendKeys(Key.ENTER)
    await waitText(d, '[data-test="roster-table"] .el-table__row', '王建军')
    await waitText(d, '[data-test="roster-table"] .el-table__row', '王小雨')
    await find(d, '[data-test="roster-table"] .el-table__row')
    const rowText = (await texts(d, '[data-test="roster-table"] .el-table__row')).join('\n')
    assert.ok(!rowText.includes('13812345678'), '电话号码应隐去中间几位')
    assert.ok(rowText.includes('138****5678'))
  } finally {
    await d.quit()
  }

  // Restart on the same register: the household is still there.
  d = await openApp(db)
  try {
    await waitText(d, '[data-test="site-name"]', '张庄村委会')
    await waitText(d, '[data-test="roster-table"] .el-table__row', '王建军')
    await waitText(d, '[data-test="roster-table"] .el-table__row', '王小雨')
    await shot(d, '03-roster-after-restart.png')

    await click(d, '[data-nav="home"]')
    await waitText(d, '[data-test="count-households"]', '1')
    await find(d, '[data-test="count-children"]')
    assert.equal((await texts(d, '[data-test="count-children"]'))[0].trim(), '1')
    await shot(d, '04-home.png')

    await click(d, '[data-nav="settings"]')
    await waitText(d, '.el-descriptions', '410423100201')
    await shot(d, '05-settings.png')
  } finally {
    await d.quit()
  }
})

test('load the demo county and search it as you type', { timeout: 300000 }, async () => {
  const d = await openApp(path.join(TMP, 'demo.db'))
  try {
    await click(d, '[data-test="load-demo"]')
    await waitText(d, '[data-test="site-name"]', '青山县', 180000)
    await find(d, '[data-test="roster-table"] .el-table__row', 60000)
    await find(d, '.el-pagination__total')
    const count = Number((await texts(d, '.el-pagination__total'))[0].replace(/\D/g, ''))
    assert.ok(count > 1500, `示例县应有约2000户，实为 ${count}`)
    await shot(d, '00-roster-demo.png')

    // Search as you type: the first household's head, found by name.
    const firstHead = '[data-test="roster-table"] .el-table__row td:nth-child(2)'
    await find(d, firstHead)
    const head = (await texts(d, firstHead))[0].trim()
    await type(d, 'roster-search', head)
    await waitAllRowsContain(d, head)
    await shot(d, '06-roster-search.png')

    // 统计报表: rates by township, the children behind one figure, their one-child file, a ledger.
    await click(d, '[data-nav="reports"]')
    await find(d, '[data-test="stats-table"] .el-table__row', 60000)
    await waitText(d, '[data-test="rate-net_enrolment"]', '%')
    await shot(d, '07-reports.png')
    await click(d, '[data-test="stats-drill"]')
    await find(d, '[data-test="drill-dialog"] .el-table__row', 60000)
    const drilled = (await texts(d, '[data-test="drill-dialog"] .el-table__row')).join('\n')
    assert.match(drilled, /\d{6}\*{8}\d{3}[\dX]/, '名单中的身份证号应隐去中间八位')
    await shot(d, '08-drill-down.png')
    await click(d, '[data-test="open-child-file"]')
    await find(d, '[data-test="child-file-dialog"] iframe')
    const html = await d.executeScript(FRAME_HTML)
    assert.ok(html.includes('一人一档'), '一人一档应显示出来')
    assert.ok(!/\d{17}[\dX]/.test(html), '一人一档中的身份证号应隐去')
    await driverSleep(d, 600)
    await shot(d, '09-child-file.png')
    await click(d, '[data-test="child-file-dialog"] .el-dialog__headerbtn')
    await click(d, '[data-test="drill-dialog"] .el-dialog__headerbtn')
    await click(d, '[data-test="print-enrol-notices"]')
    await d.wait(async () => ((await d.executeScript(FRAME_HTML)) || '').includes('入学通知书'), T, '入学通知书没有显示出来')
    assert.ok(!/\d{17}[\dX]/.test(await d.executeScript(FRAME_HTML)), '入学通知书中的身份证号应隐去')
    await driverSleep(d, 600)
    await shot(d, '10-enrol-notices.png')
    await click(d, '[data-test="child-file-dialog"] .el-dialog__headerbtn')
    await click(d, '[data-test="ledger-children"]')
    await waitText(d, '[data-test="ledger-result"]', '.xlsx')
    const saved = (await texts(d, '[data-test="ledger-result"]'))[0]
    const file = saved.slice(saved.indexOf('已保存到') + 4).trim()
    assert.ok(fs.existsSync(file) && fs.statSync(file).size > 1000, `台账文件应已写出：${file}`)
  } finally {
    await d.quit()
  }
})

/** Clicks the element by script: a toast or a closing dialog's mask over it does not matter. */
async function click(d, css, ms = T) {
  const el = await find(d, css, ms)
  await d.executeScript('arguments[0].click()', el)
}

const FRAME_HTML = 'const f = document.querySelector(\'[data-test="child-file-dialog"] iframe\'); return f ? f.srcdoc : null'

async function driverSleep(d, ms) {
  await d.sleep(ms)
}

async function waitAllRowsContain(d, text) {
  await d.wait(async () => {
    const rows = await texts(d, '[data-test="roster-table"] .el-table__body > tbody > .el-table__row')
    return rows.length > 0 && rows.every((r) => r.includes(text))
  }, T, `查找“${text}”后，列表中仍有不含该姓名的户`)
}
