// Shared harness of the end-to-end tests (tests/e2e/*.test.mjs, run one file after another by
// scripts/test): starts tauri-driver for the file's tests, opens the real app on a register file, and
// finds, types, clicks and reads by one executeScript call each (WebKitWebDriver under Xvfb hangs on
// takeScreenshot and at times on isDisplayed/getText). Screenshots go to docs/screenshots/.
// A test file calls useDriver() once at its top, then openApp(db) per app start.
import { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { Builder, By, Key } from 'selenium-webdriver'

export const ROOT = process.env.BAOXUE_ROOT || path.resolve(import.meta.dirname, '../..')
export const APP = process.env.BAOXUE_APP
const PORT = Number(process.env.TAURI_DRIVER_PORT || 4444)
const NATIVE_PORT = Number(process.env.TAURI_DRIVER_NATIVE_PORT || 4445)
export const SHOTS = path.join(ROOT, 'docs', 'screenshots')
export const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'baoxue-e2e-'))
/** Where a failed wait leaves a screenshot of the screen (kept after the run). */
export const FAILS = fs.mkdtempSync(path.join(os.tmpdir(), 'baoxue-e2e-failed-'))
/**
 * The home of every app this run starts (through tauri-driver, which passes its environment on):
 * exports, ledgers and the register's default place land under TMP, never in the documents folder
 * of whoever runs the tests. Its documents folder is HOME/文档 (xdg user-dirs), as on a Chinese desktop.
 */
export const HOME = path.join(TMP, 'home')
export const DOCUMENTS = path.join(HOME, '文档')
const CARGO_BIN = path.join(os.homedir(), '.cargo', 'bin')
function sandboxEnv() {
  const config = path.join(HOME, '.config')
  fs.mkdirSync(config, { recursive: true })
  fs.mkdirSync(DOCUMENTS, { recursive: true })
  fs.writeFileSync(path.join(config, 'user-dirs.dirs'), 'XDG_DOCUMENTS_DIR="$HOME/文档"\n')
  return {
    ...process.env,
    HOME,
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: path.join(HOME, '.local', 'share'),
    XDG_CACHE_HOME: path.join(HOME, '.cache'),
    XDG_STATE_HOME: path.join(HOME, '.local', 'state'),
    PATH: `${CARGO_BIN}:${process.env.PATH || ''}`,
  }
}

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

/** Registers the file's before/after hooks: tauri-driver up before, every app of the run killed after. */
export function useDriver() {
before(async () => {
  assert.ok(APP && fs.existsSync(APP), `找不到程序文件 BAOXUE_APP=${APP}`)
  fs.mkdirSync(SHOTS, { recursive: true })
  const bin = path.join(CARGO_BIN, 'tauri-driver')
  driverProcess = spawn(fs.existsSync(bin) ? bin : 'tauri-driver',
    ['--port', String(PORT), '--native-port', String(NATIVE_PORT)],
    // Not inherited: an app that outlives its session would hold the test runner's output open.
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(FAILS, 'tauri-driver.log'), 'a')], env: sandboxEnv() })
  await waitForPort(PORT, 20000)
})

after(() => {
  if (driverProcess) driverProcess.kill()
  // The log of the run (tauri-driver's and the app's stderr) must not hold an unmasked ID or
  // phone number, as tests/util.rs checks every CLI run's output.
  const logFile = path.join(FAILS, 'tauri-driver.log')
  const found = fs.existsSync(logFile) ? findPersonalNumber(fs.readFileSync(logFile, 'utf8')) : null
  // An app that did not exit when its session ended (seen once under load) must not keep the run
  // waiting: every app of this run has its register under TMP.
  try {
    execFileSync('pkill', ['-f', TMP])
  } catch (e) {
    // pkill exits 1 when nothing matched.
  }
  // WebKit's helper processes of a killed app may still write their caches under HOME for a while
  // (seen under load 12): a temp folder left behind is not a test failure.
  try {
    fs.rmSync(TMP, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 })
  } catch (e) {
    log(`临时目录未能删除（${e.code}），留在 ${TMP}`)
  }
  assert.equal(found, null, `程序日志 ${logFile} 中出现了未隐去的${found === 'ID number' ? '身份证号' : '电话号码'}`)
})
}

/** The kind of the first unmasked personal number in TEXT ('ID number' / 'phone number'), or
 * null: an 18-character word of 17 digits and a digit or X, or an 11-digit mobile number, standing
 * alone between non-alphanumeric characters (the same rule as tests/util.rs). */
export function findPersonalNumber(text) {
  for (const word of text.split(/[^0-9A-Za-z]+/)) {
    if (/^\d{17}[\dXx]$/.test(word)) return 'ID number'
    if (/^1[3-9]\d{9}$/.test(word)) return 'phone number'
  }
  return null
}

/** Starts the app on a register file and returns a WebDriver session. */
export async function openApp(db) {
  const driver = await new Builder()
    .usingServer(`http://127.0.0.1:${PORT}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: APP, args: ['--db', db] } })
    .build()
  await driver.manage().setTimeouts({ implicit: 0 })
  return driver
}

/** The CLI built beside the app (or BAOXUE_CLI): tests make registers, cards and sheets with it. */
export const CLI = process.env.BAOXUE_CLI || path.join(path.dirname(APP || ''), 'baoxue')

/** Runs the CLI on a plain (unencrypted) register and returns its stdout. */
export function cli(db, ...args) {
  assert.ok(fs.existsSync(CLI), `找不到命令行程序 ${CLI}（先 cargo build）`)
  return execFileSync(CLI, ['--db', db, ...args], {
    env: { ...process.env, BAOXUE_NO_ENCRYPTION: '1', BAOXUE_PASSPHRASE: '' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
}

/**
 * A school (城关第一小学, 4141000001) and its county (测试县教育局), plain registers in TMP made with
 * the CLI, each trusting the other's card with its fingerprint. Returns their paths.
 */
export function schoolAndCounty() {
  const school = path.join(TMP, 'school.db')
  const county = path.join(TMP, 'county.db')
  cli(county, 'init', '--kind', 'county', '--name', '测试县教育局', '--region', '410423')
  cli(school, 'init', '--kind', 'school', '--name', '城关第一小学', '--region', '410423', '--school-code', '4141000001')
  cli(school, 'school', 'add', '--code', '4141000001', '--name', '城关第一小学', '--kind', 'primary')
  const countyCard = path.join(TMP, 'county.card.json')
  const schoolCard = path.join(TMP, 'school.card.json')
  const countyFp = JSON.parse(cli(county, '--json', 'site', 'card', '--out', countyCard)).fingerprint
  const schoolFp = JSON.parse(cli(school, '--json', 'site', 'card', '--out', schoolCard)).fingerprint
  cli(school, 'site', 'trust', countyCard, '--fingerprint', countyFp)
  cli(county, 'site', 'trust', schoolCard, '--fingerprint', schoolFp)
  return { school, county }
}

export const T = 30000

const T0 = Date.now()
/** Progress lines on stderr, so a hang shows where it happened. */
export function log(msg) { process.stderr.write(`[e2e ${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`) }

const VISIBLE = `return Array.from(document.querySelectorAll(arguments[0])).find((e) => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 }) || null`

export async function find(driver, css, ms = T) {
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
export async function field(driver, name) {
  const el = await find(driver, `[data-test="${name}"]`)
  const tag = await el.getTagName()
  return tag.toLowerCase() === 'input' ? el : el.findElement(By.css('input'))
}

export async function type(driver, name, text) {
  log(`type ${name}`)
  const el = await field(driver, name)
  if (await el.getAttribute('value')) await el.sendKeys(Key.chord(Key.CONTROL, 'a'), Key.BACK_SPACE)
  await el.sendKeys(text)
  return el
}

/** Saves the screen at a failure into FAILS and returns the file's path. */
export function failShot() {
  const file = path.join(FAILS, `${Date.now()}.png`)
  try {
    execFileSync('import', ['-window', 'root', file], { timeout: 20000 })
  } catch (e) {
    return `（截屏失败：${e.message}）`
  }
  return file
}

/** The rendered text of every element matching CSS, read in one script call. */
export async function texts(driver, css) {
  return driver.executeScript('return Array.from(document.querySelectorAll(arguments[0])).map((e) => e.innerText)', css)
}

export async function waitText(driver, css, text, ms = T) {
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
export async function shot(driver, name) {
  log(`shot ${name}`)
  await driver.sleep(400) // let transitions finish
  execFileSync('import', ['-window', 'root', path.join(SHOTS, name)], { timeout: 20000 })
}

/** A valid fictional ID number (GB 11643-1999 check character). */
export function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...first17].reduce((s, c, i) => s + Number(c) * w[i], 0)
  return first17 + '10X98765432'[sum % 11]
}

/** Clicks the element by script: a toast or a closing dialog's mask over it does not matter. */
export async function click(d, css, ms = T) {
  const el = await find(d, css, ms)
  await d.executeScript('arguments[0].click()', el)
}


/** Waits until no app started on register file DB is running any more (a restart on the same
 * register must not race the first app's closing: its daily backup and WAL write-back). */
export async function waitAppExit(db, ms = 60000) {
  const end = Date.now() + ms
  for (;;) {
    try {
      execFileSync('pgrep', ['-f', db])
    } catch (e) {
      return // pgrep exits 1: nothing matched
    }
    if (Date.now() > end) throw new Error(`程序在 ${ms / 1000} 秒内没有退出（${db}）`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** 学籍 wizard, steps 1-2: choose FILE (kind and source already picked), read it, preview; waits for the preview. */
export async function wizardPreview(d, file, ms = 60000) {
  await type(d, 'import-path', file)
  await click(d, '[data-test="import-read"]')
  await click(d, '[data-test="import-preview"]')
  await find(d, '[data-test="import-preview-panel"]', ms)
}

/** 学籍 wizard, steps 3-4: import what the preview showed and wait for the report. */
export async function wizardRun(d, ms = 120000) {
  await click(d, '[data-test="import-run"]')
  await find(d, '[data-test="import-report"]', ms)
}

/** 数据交换, already open: type FOLDER (or files) into the bundle box and start the import. The
 * caller waits for what it expects (a status, a progress line, a result). */
export async function importBundles(d, folder) {
  await type(d, 'bundle-paths', folder)
  await click(d, '[data-test="bundle-import-run"]')
}
