// The one place that knows the app's command names and turns the backend's {code, message}
// errors into Chinese for the clerk. Screens import these functions and never call invoke.
import { invoke } from '@tauri-apps/api/core'

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
  busy: '登记库暂时不可用',
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
  pin_required: '需要操作员密码',
  wrong_pin: '操作员密码不正确',
  unknown_operator: '不是本登记库的操作员',
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
/** The same text as the core's passphrase_mismatch, for the confirm field checked before sending. */
export const MISMATCH = new ApiError('passphrase_mismatch', '两次输入的口令不一致，请重新输入')
