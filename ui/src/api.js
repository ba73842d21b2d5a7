// The one place that knows the app's command names and turns the backend's {code, message}
// errors into Chinese for the clerk. Screens import these functions and never call invoke.
import { invoke } from '@tauri-apps/api/core'
import { open as openDialog, save as saveDialog } from '@tauri-apps/plugin-dialog'

/** Titles for error codes; the backend's message (already Chinese) says the details. */
const TITLES = {
  db: '登记库读写出错',
  io: '文件读写失败',
  newer_register: '登记库版本过新',
  not_initialised: '尚未设置本单位',
  already_initialised: '本单位已设置',
  invalid: '填写有误',
  not_found: '未找到记录',
  json: '数据格式错误',
  busy: '请稍候：有任务正在进行',
  id_empty: '身份证号为空',
  id_excel_precision: '身份证号精度丢失',
  id_length: '身份证号位数不对',
  id_character: '身份证号含非法字符',
  id_birth_date: '身份证号中的出生日期无效',
  id_check_digit: '身份证号校验位错误',
  id_region: '身份证号地区码无效',
  ipc: '程序内部通信失败',
  locked: '登记库尚未解锁',
  passphrase_required: '需要口令',
  wrong_passphrase: '口令不正确',
  passphrase_too_short: '口令太短',
  passphrase_mismatch: '两次口令不一致',
  passphrase_not_given: '需要设定口令',
  pin_required: '需要操作员PIN',
  wrong_pin: '操作员PIN不正确',
  unknown_operator: '不是本登记库的操作员',
  cancelled: '已取消',
  exists: '文件已存在',
  internal: '程序内部错误',
  file_open: '无法打开文件',
  file_format: '文件格式无法识别',
  file_encrypted: '文件有密码保护',
  file_corrupt: '文件已损坏',
  no_such_sheet: '没有这个工作表',
  file_empty: '文件是空的',
  no_header: '找不到表头',
  file_too_large: '文件太大',
  bad_card: '密钥卡无效',
  fingerprint_mismatch: '指纹不符',
  no_recipient: '收件单位未信任',
  // bundle codes (src/bundle/mod.rs `codes`)
  malformed: '数据包格式有误',
  truncated: '数据包不完整',
  bad_signature: '数据包签名无效',
  untrusted_site: '发件单位未信任',
  wrong_recipient: '数据包不是发给本单位的',
  payload_hash: '数据包内容被改动过',
  decrypt_failed: '数据包无法解密',
  bad_record: '数据包中有无效记录',
  out_of_scope: '超出本单位的范围',
  newer_format: '数据包版本过新',
  clock_ahead: '发件单位时钟超前',
  fork: '发件单位的数据链分叉',
  site_frozen: '发件单位已冻结',
  no_keys: '本单位尚无密钥',
  // backups, operators, files
  backup_corrupt: '备份文件已损坏',
  not_a_backup: '不是保学备份文件',
  newer_backup_format: '备份版本过新',
  register_damaged: '登记库已损坏',
  target_exists: '目标文件已存在',
  bad_operator_name: '操作员名称无效',
  bad_pin: 'PIN不符合要求',
  last_operator: '不能删除最后一位操作员',
  no_passphrase: '缺少口令',
  file_bomb: '文件异常（解压后过大）',
  too_many_columns: '表格列数过多',
  other: '操作失败',
}

/** An error the UI can show: a stable code, a short Chinese title and the full Chinese message. */
export class ApiError extends Error {
  constructor(code, message) {
    super(message)
    this.code = code
    this.title = TITLES[code] || '操作失败'
  }
}

async function call(command, args) {
  try {
    return await invoke(command, args)
  } catch (e) {
    if (e && typeof e === 'object' && 'code' in e) throw new ApiError(e.code, e.message)
    throw new ApiError('ipc', `程序内部错误，请重启保学后再试（${String(e)}）`)
  }
}

/** The site (null before set-up), household and child counts, register path, operator. */
export const siteInfo = () => call('site_info')
/** Sets up this register's site: {kind, name, region_code, school_code}; a new register file is
 * encrypted with the passphrase. */
export const initSite = (site, passphrase) => call('init_site', { site, passphrase: passphrase || null })
/** Loads the fictional demo county into an empty register (encrypted when a passphrase is given,
 * else a plain training register). */
export const loadDemo = (passphrase) => call('load_demo', { passphrase: passphrase || null })
/** Households with children, numbers masked: {search, area, limit, offset}. */
export const listHouseholds = (query) => call('list_households', { query })
/** Adds a household with its children in one transaction; returns the stored row (masked). */
export const addHousehold = (household) => call('add_household', { household })
/** Checks an ID number as typed: {normalized, birth_date, sex} or an ApiError. */
export const checkId = (raw) => call('check_id', { raw })
/** The shipped code lists (priority groups, child flags, relations …). */
export const codeLists = () => call('code_lists')

/** Site kinds as the set-up form offers them. */
export const SITE_KINDS = [
  { value: 'village', label: '村（村委会）', digits: 12 },
  { value: 'township', label: '乡镇（中心校、乡镇政府）', digits: 9 },
  { value: 'school', label: '学校', digits: 0 },
  { value: 'county', label: '县教育局', digits: 6 },
]

/** The county's rates and case counts on a date (YYYY-MM-DD, empty = today). */
export const stats = (asOfDate) => call('stats', { asOfDate: asOfDate || null })
/** The children behind one figure: metric retention|net_enrolment|dropout, by, key. */
export const statsDrill = (metric, by, key, asOfDate) =>
  call('stats_drill', { metric, by, key, asOfDate: asOfDate || null })
/** Writes a ledger (.xlsx) into the documents folder; full = unmasked numbers (audited). */
export const exportLedger = (kind, full, asOfDate) =>
  call('export_ledger', { kind, full, asOfDate: asOfDate || null })
/** The one-child file (一人一档) as printable A4 HTML, numbers masked. */
export const childFileHtml = (key) => call('child_file_html', { key })
/** This autumn's 入学通知书 (grade 1 and grade 7), one A4 page per child, IDs masked. */
export const enrolNoticesHtml = (year) => call('enrol_notices_html', { year })

// --- 查找儿童 (lead) ---
/** Children matching what was typed (name, pinyin initials, ID, 学籍号), best first, numbers masked. */
export const searchChildren = (query, limit) => call('search_children', { query, limit })

// --- Security (encryption at rest, unlock, operator PIN, passphrase change; docs/security.md) ---
/** {protection: missing|plain|encrypted, open, pin_required, min_passphrase_chars, operator, path}. */
export const lockState = () => call('lock_state')
/** Opens the register with its passphrase (and the operator's PIN when it has one). */
export const unlock = (passphrase, pin) => call('unlock', { passphrase: passphrase || null, pin: pin || null })
/** Re-keys an encrypted register (current = its passphrase) or encrypts a plain one. */
export const changePassphrase = (current, next) => call('change_passphrase', { current: current || null, new: next })
/** Closes the window as its title-bar button does (the daily backup of an encrypted register runs). */
export const quitApp = () => call('quit_app')
/** One masked number in full (field: child.id_number | household.head_id_number | household.phone);
 * audited (who, when, which record, which field) before it is returned. */
export const revealPersonField = (recordId, field) => call('reveal_person_field', { recordId, field })
/** The same text as the core's passphrase_mismatch, for the confirm field checked before sending. */
export const MISMATCH = new ApiError('passphrase_mismatch', '两次输入的口令不一致，请重新输入')

// --- case work: 比对核查, 个案, 考勤, and any list as a file (commands/casework.rs) -------------
/** Division names by code and the registered schools [{code, name, township_code}]. */
export const caseworkNames = () => call('casework_names')
/** 首页 counts: warnings due today, cases needing action, open cases, open home-visit tasks. */
export const homeCounts = () => call('home_counts')
/** The cross-check on a date: {suspected, to_confirm, window …}, ID numbers masked. */
export const crosscheckRun = (asOfDate) => call('crosscheck_run', { asOfDate: asOfDate || null })
/** Confirms a probable match: the listed child and the enrolled pupil are the same child. */
export const crosscheckConfirm = (childId, pupilId) => call('crosscheck_confirm', { childId, pupilId })
/** Records that the pupil is NOT the listed child (never proposed again; audited). */
export const crosscheckReject = (childId, pupilId, reason) => call('crosscheck_reject', { childId, pupilId, reason })
/** Turns the suspected children into home-visit tasks for their village/township. */
export const tasksCreate = (asOfDate) => call('tasks_create', { asOfDate: asOfDate || null })
/** Verification tasks (area = code prefix, taskState = open|done), numbers masked. */
export const tasksList = (area, taskState) => call('tasks_list', { area: area || null, taskState: taskState || null })
/** Records a home-visit finding {finding, detail, found_on, found_by}; a confirmed dropout opens a case. */
export const taskRecord = (taskId, form) => call('task_record', { taskId, form })
/** Cases: filter {state, reason, township, priority, needs_action}. */
export const casesList = (filter) => call('cases_list', { filter: filter || {} })
/** One case file: the case, its legal next states, whether an attempt/notice is allowed, the timeline. */
export const caseView = (caseId) => call('case_view', { caseId })
/** Records a persuasion attempt {on_date, participants[], joint, method, said, result}. */
export const caseAttempt = (caseId, attempt) => call('case_attempt', { caseId, attempt })
/** Moves a case {to, on_date, note, approver, doc_no, assessment, school, placement, reason}. */
export const caseTransition = (caseId, transition) => call('case_transition', { caseId, transition })
/** Issues the 限期返校通知书 (recorded on the case) and returns it as printable A4 HTML. */
export const returnNoticeHtml = (caseId, deadline, issuer) => call('return_notice_html', { caseId, deadline, issuer })
/** The classes of a school [{grade, class_name, pupils}]. */
export const attendanceClasses = (school) => call('attendance_classes', { school })
/** A class's entry sheet on a day: every pupil with the status recorded (else present). */
export const attendanceSheet = (school, grade, className, date) =>
  call('attendance_sheet', { school, grade: grade ?? null, className: className ?? null, date })
/** Saves a class's day {school, grade, class_name, date, absent[], leave[]} (record ids). */
export const attendanceRecord = (day) => call('attendance_record', { day })
/** Pupils whose absences crossed a threshold, with since when (school = one school or all). */
export const warningsList = (asOfDate, school) => call('warnings_list', { asOfDate: asOfDate || null, school: school || null })
/**
 * Writes a list into the documents folder as .xlsx or .csv (UTF-8 with BOM), never over an earlier
 * file; list = {kind: drill|roster|suspected|cases|warnings, …}; full = unmasked (audited).
 */
export const exportList = (list, format, full, asOfDate) =>
  call('export_list', { list, format, full, asOfDate: asOfDate || null })

// --- 学籍 import wizard and 数据交换 (long jobs with progress and cancel) ---------------------
/** Spreadsheet files the importers read. */
export const SHEET_FILES = [{ name: '表格文件', extensions: ['xlsx', 'xlsm', 'xls', 'ods', 'csv', 'txt'] }]
/**
 * The native file pickers (every path they fill can also be typed): a file to open (or several),
 * a folder, a file to save. Resolve with the path(s), or null when the clerk closed the dialog.
 */
export async function pickFile(filters, multiple = false) {
  try {
    return await openDialog({ multiple, directory: false, filters })
  } catch (e) {
    throw new ApiError('ipc', `无法打开选择文件的窗口，请直接填写路径（${String(e)}）`)
  }
}
export async function pickFolder() {
  try {
    return await openDialog({ directory: true, multiple: false })
  } catch (e) {
    throw new ApiError('ipc', `无法打开选择文件夹的窗口，请直接填写路径（${String(e)}）`)
  }
}
export async function pickSave(defaultPath, filters) {
  try {
    return await saveDialog({ defaultPath: defaultPath || undefined, filters })
  } catch (e) {
    throw new ApiError('ipc', `无法打开保存文件的窗口，请直接填写路径（${String(e)}）`)
  }
}
/** A long job's state: {id, kind, done, total, step, cancel_requested, finished, result, error}. */
export const jobStatus = (id) => call('job_status', { id })
/** Asks a job to stop; the core rolls its transaction back. */
export const jobCancel = (id) => call('job_cancel', { id })
/** The job running now (null when none), for the banner above every screen. */
export const jobCurrent = () => call('job_current')
/** What each job kind is called on screen (正在导入…). */
export const JOB_LABELS = { preview: '预览导入', import: '导入', export: '导出数据包', bundle_import: '导入数据包' }
/** The UI heard the window's close request (the backend closes by itself after 5 s otherwise). */
export const closeAck = () => call('close_ack')
/** The clerk agreed to close: a running job is cancelled, then the window closes. */
export const closeConfirmed = () => call('close_confirmed')

/**
 * Follows a job until it ends: onProgress(status) at each poll. Resolves with its result, or
 * rejects with an ApiError (code 'cancelled' when the clerk cancelled it).
 */
export async function followJob(started, onProgress, everyMs = 200) {
  let s = started
  for (;;) {
    if (onProgress) onProgress(s)
    if (s.finished) {
      if (s.error) throw new ApiError(s.error.code, s.error.message)
      return s.result
    }
    await new Promise((r) => setTimeout(r, everyMs))
    s = await jobStatus(s.id)
  }
}

/** Schools, this site's school, the current term, the department-list kinds. */
export const importOptions = () => call('import_options')
/** The sheets of a spreadsheet file. */
export const importSheets = (path) => call('import_sheets', { path })
/** Starts a preview (dry_run) or an import: {kind, path, sheet, school, term, list_kind, source, as_of, dry_run}. */
export const importStart = (req) => call('import_start', { req })
/** Saves a finished import's refused rows as .xlsx; code 'exists' unless overwrite. */
export const importSaveErrors = (id, path, overwrite) => call('import_save_errors', { id, path, overwrite })

/** This site's card and fingerprint, the trusted sites, open conflicts, the default folder. */
export const exchangeOverview = () => call('exchange_overview')
/** Saves this site's key card (a folder or a file name); code 'exists' unless overwrite. */
export const exchangeSaveCard = (path, overwrite) => call('exchange_save_card', { path, overwrite })
/** Reads a key card file: its site and fingerprint, before trusting it. */
export const exchangeReadCard = (path) => call('exchange_read_card', { path })
/** Trusts the card at path when the fingerprint read out on the phone matches. */
export const exchangeTrust = (path, fingerprint) => call('exchange_trust', { path, fingerprint })
/** Starts exporting a bundle into a folder: to = site id (null = the county), full. */
export const exchangeExportStart = (to, full, dir) => call('exchange_export_start', { to: to || null, full, dir })
/** Starts importing bundle files or folders of them; the result is one report per bundle. */
export const exchangeImportStart = (paths) => call('exchange_import_start', { paths })
/** One conflict with every side (numbers masked). */
export const exchangeConflict = (recordId) => call('exchange_conflict', { recordId })
/** Resolves a conflict by keeping one side's version, with a reason. */
export const exchangeResolve = (recordId, keep, reason) => call('exchange_resolve', { recordId, keep, reason })
/** Bundles held for a decision: [{hash, bundle_id, from_name, seq, received_at, reason, message}]. */
export const exchangeHeld = () => call('exchange_held')
/** Refuses a held bundle with a reason (recorded). */
export const exchangeHeldRefuse = (hash, reason) => call('exchange_held_refuse', { hash, reason })
/** Accepts a held bundle with a reason (recorded) and applies it, as a job: its result is [report]. */
export const exchangeHeldAcceptStart = (hash, reason) => call('exchange_held_accept_start', { hash, reason })
/** Records waiting for a missing bundle: [{table, record_id, from_name, seq, waiting_for, message}]. */
export const exchangeWaiting = () => call('exchange_waiting')
/** Forces one waiting record in with a reason (recorded). */
export const exchangeWaitingForce = (recordId, reason) => call('exchange_waiting_force', { recordId, reason })

// 学户册 (the virtualised roster)
/** Households offset..offset+limit (at most 500) of the whole roster in roster order, numbers
 * masked: {total, offset, rows}. */
export const rosterPage = (offset, limit) => call('roster_page', { offset, limit })
