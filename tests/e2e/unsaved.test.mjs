// End-to-end: nothing typed is lost by accident. On a village register (made with the CLI), the
// clerk half fills 新增一户. Dismissing the dialog (✕), leaving the screen, and closing the window
// the way a window manager does (a WM_DELETE_WINDOW message to the app's window, sent by
// tests/e2e/wm-close.py: Xvfb has no window manager) each ask first; 返回继续填写 keeps the app
// open with the input intact, and 放弃 on the window close ends the app.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { useDriver, openApp, find, field, type, waitText, shot, click, waitAppExit, TMP, ROOT, log, cli } from './harness.mjs'

useDriver()

const BOX = '.unsaved-box'
const keepEditing = (d) => click(d, `${BOX} .el-message-box__btns .el-button:not(.el-button--primary)`)
const discard = (d) => click(d, `${BOX} .el-message-box__btns .el-button--primary`)
/** Waits until the question box is gone (its leave transition). */
async function boxGone(d) {
  const end = Date.now() + 10000
  while (Date.now() < end) {
    const n = await d.executeScript(`return Array.from(document.querySelectorAll('${BOX}')).filter((e) => {
      const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 }).length`)
    if (n === 0) return
    await d.sleep(150)
  }
  throw new Error('询问框没有关闭')
}
/** Asks the window to close as a window manager's close button does. */
function closeWindow() {
  log('WM_DELETE_WINDOW')
  const n = execFileSync('python3', [path.join(ROOT, 'tests', 'e2e', 'wm-close.py'), 'baoxue-app'], { encoding: 'utf8' })
  assert.ok(Number(n) >= 1, `没有找到保学的窗口：${n}`)
}
async function headName(d) {
  return (await field(d, 'head-name')).getAttribute('value')
}

test('a half-filled dialog and closing the window ask before anything is discarded', { timeout: 300000 }, async () => {
  const db = path.join(TMP, 'village.db')
  cli(db, 'init', '--kind', 'village', '--name', '柳树湾村', '--region', '410423100201')
  const d = await openApp(db)
  let ended = false
  try {
    await waitText(d, '[data-test="site-name"]', '柳树湾村')
    await click(d, '[data-nav="roster"]')
    await click(d, '[data-test="add-household"]')
    await type(d, 'head-name', '王大山')
    await type(d, 'child-name-0', '王小山')

    // The dialog's ✕ asks; 返回继续填写 keeps what was typed.
    await click(d, '[data-test="household-dialog"] .el-dialog__headerbtn')
    await waitText(d, BOX, '新增一户的内容还没有保存')
    await find(d, BOX)
    await shot(d, '50-unsaved-dialog.png')
    await keepEditing(d)
    await boxGone(d)
    assert.equal(await headName(d), '王大山')

    // Another screen from the navigation asks too.
    await click(d, '[data-nav="home"]')
    await waitText(d, BOX, '新增一户的内容还没有保存')
    await find(d, BOX)
    await keepEditing(d)
    await boxGone(d)
    assert.equal(await headName(d), '王大山')

    // The window's close button asks; 返回继续填写 keeps the app open with the input.
    closeWindow()
    await waitText(d, BOX, '新增一户的内容还没有保存')
    await find(d, BOX)
    await shot(d, '51-unsaved-window-close.png')
    await keepEditing(d)
    await boxGone(d)
    await d.sleep(6000) // longer than the backend waits for an answer: the window must still be open
    assert.equal(await headName(d), '王大山')
    await find(d, '[data-test="household-dialog"]')

    // Asked again and agreed: the app ends.
    closeWindow()
    await waitText(d, BOX, '新增一户的内容还没有保存')
    await find(d, BOX)
    try {
      await discard(d)
    } catch (e) {
      // The app may end while the click's script call is still answering; the exit below proves
      // the click was taken (an app that did not close fails there).
      log(`the click ended with the app: ${e.name}`)
    }
    await waitAppExit(db, 30000)
    ended = true
  } finally {
    try {
      await d.quit()
    } catch (e) {
      if (!ended) throw e
    }
  }
  // Nothing was saved: the register has no such household.
  assert.ok(!cli(db, 'snapshot').includes('王大山'), '放弃的内容不应写入登记库')
})
