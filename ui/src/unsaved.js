// Nothing typed is lost by accident: a screen or a dialog with unsaved input registers a guard
// here (App.vue provides 'leaveGuard'). Leaving the screen, closing the window (title bar, Alt+F4,
// 退出) and dismissing the dialog (✕, Esc) each ask the clerk before the input is discarded.
import { inject, onBeforeUnmount } from 'vue'
import { ElMessageBox } from 'element-plus'

/** Asks whether WHAT may be discarded; resolves true when the clerk agrees. */
export async function confirmDiscard(what) {
  try {
    await ElMessageBox.confirm(`${what}还没有保存，确定放弃吗？`, '未保存的内容',
      { confirmButtonText: '放弃', cancelButtonText: '返回继续填写', type: 'warning', customClass: 'unsaved-box', autofocus: false })
    return true
  } catch {
    return false
  }
}

/** The text of a form, to tell later whether anything was typed since it opened. */
export const snapshot = (form) => JSON.stringify(form, (k, v) => (['open', 'saving', 'error'].includes(k) ? undefined : v))

/**
 * Guards a form: isDirty() says whether something typed would be lost, what names it
 * (“新增一户的内容”). Registered while the component lives; returns beforeClose for el-dialog's
 * before-close (✕, Esc and a click beside the dialog ask too).
 */
export function useUnsaved(isDirty, what) {
  const guards = inject('leaveGuard', null)
  const guard = async () => !isDirty() || confirmDiscard(typeof what === 'function' ? what() : what)
  if (guards) {
    guards.add(guard)
    onBeforeUnmount(() => guards.remove(guard))
  }
  const beforeClose = async (done) => {
    if (await guard()) done()
  }
  return { guard, beforeClose }
}
