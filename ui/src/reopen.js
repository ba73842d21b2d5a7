// Showing a dialog again with new content.
import { nextTick } from 'vue'

/**
 * Shows the dialog bound to `model.value.open` with the content `next` (an object with
 * `open: true`). Closed with its × or Esc, an Element Plus dialog keeps its v-model true until its
 * closing animation has ended, and only then sets it false: opened again within that time (the
 * clerk closes one child's file and at once opens another's, or the intake notices), it would not
 * show at all, and would then be marked closed. Setting the model false first, and the new
 * content a tick later, shows it in every case.
 */
export async function reopen(model, next) {
  if (model.value.open) {
    model.value.open = false
    await nextTick()
  }
  model.value = next
}
