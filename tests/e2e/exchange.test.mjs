// End-to-end: 数据交换 in the real app, between two registers prepared with the `baoxue` CLI:
// a school (城关第一小学, 40 pupils imported from a generated roll sheet) that trusts the county's
// card, and the county. In the app on the school's register: export an incremental bundle into a
// "USB stick" folder. Then in the app on the county's register: trust the school's card (read from
// its file, fingerprint typed as read out on the phone; a wrong one is refused), import the folder,
// see the bundle applied and the 40 pupils counted; importing it again changes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { useDriver, openApp, find, type, texts, waitText, shot, click, TMP, T, cli, importBundles } from './harness.mjs'

useDriver()


test('export a bundle at a school and import it at the county', { timeout: 600000 }, async () => {
  const school = path.join(TMP, 'school.db')
  const county = path.join(TMP, 'county.db')
  const usb = path.join(TMP, 'U盘')
  fs.mkdirSync(usb)
  cli(county, 'init', '--kind', 'county', '--name', '测试县教育局', '--region', '410423')
  cli(school, 'init', '--kind', 'school', '--name', '城关第一小学', '--region', '410423', '--school-code', '4141000001')
  cli(school, 'school', 'add', '--code', '4141000001', '--name', '城关第一小学', '--kind', 'primary')
  const roll = path.join(TMP, 'roll.xlsx')
  cli(school, 'bench', 'gen', '--rows', '40', '--out', roll)
  cli(school, 'import', 'roll', roll, '--school', '4141000001', '--term', '2026秋')
  const countyCard = path.join(TMP, 'county.card.json')
  const schoolCard = path.join(TMP, 'school.card.json')
  const countyFp = JSON.parse(cli(county, '--json', 'site', 'card', '--out', countyCard)).fingerprint
  const schoolFp = JSON.parse(cli(school, '--json', 'site', 'card', '--out', schoolCard)).fingerprint
  cli(school, 'site', 'trust', countyCard, '--fingerprint', countyFp)

  // At the school: its card and fingerprint, the county trusted; export into the USB folder.
  let d = await openApp(school)
  try {
    await waitText(d, '[data-test="site-name"]', '城关第一小学')
    await click(d, '[data-nav="exchange"]')
    await waitText(d, '[data-test="my-fingerprint"]', schoolFp)
    await waitText(d, '[data-test="trusted-table"]', '测试县教育局')
    await type(d, 'export-dir', usb)
    await click(d, '[data-test="export-run"]')
    await waitText(d, '[data-test="export-result"]', '.bxb', 120000)
    await waitText(d, '[data-test="export-result"]', '测试县教育局')
    await shot(d, '43-exchange-export.png')
  } finally {
    await d.quit()
  }
  const bundles = fs.readdirSync(usb).filter((f) => f.endsWith('.bxb'))
  assert.equal(bundles.length, 1, `U盘中应有一个数据包：${bundles}`)

  // At the county: trust the school's card (a wrong fingerprint is refused), import the folder.
  d = await openApp(county)
  try {
    await waitText(d, '[data-test="site-name"]', '测试县教育局')
    await click(d, '[data-nav="exchange"]')
    await waitText(d, '[data-test="my-fingerprint"]', countyFp)
    await click(d, '[data-test="trust-open"]')
    await type(d, 'trust-path', schoolCard)
    await click(d, '[data-test="trust-read"]')
    await waitText(d, '[data-test="trust-card-fp"]', schoolFp)
    const wrong = schoolFp.replace(/\d(?=\D*$)/, (c) => String((Number(c) + 1) % 10))
    await type(d, 'trust-fp', wrong)
    await click(d, '[data-test="trust-save"]')
    await waitText(d, '[data-test="trust-error"]', '指纹不符')
    await type(d, 'trust-fp', schoolFp)
    await shot(d, '44-exchange-trust.png')
    await click(d, '[data-test="trust-save"]')
    await waitText(d, '[data-test="trusted-table"]', '城关第一小学')

    await importBundles(d, usb)
    await find(d, '[data-test="bundle-status-applied"]', 120000)
    await waitText(d, '[data-test="bundle-results"]', '城关第一小学')
    await waitText(d, '[data-test="trusted-table"]', '第 1 号')
    await shot(d, '45-exchange-import.png')

    // Again: already imported, nothing changes.
    await click(d, '[data-test="bundle-import-run"]')
    await find(d, '[data-test="bundle-status-already_imported"]', 120000)

    // The pupils are in the county's register.
    await click(d, '[data-nav="home"]')
    await d.wait(async () => ((await texts(d, '[data-test="count-children"]'))[0] || '').trim() === '40', T,
      '县登记库应有学校的40名学生')
  } finally {
    await d.quit()
  }
  const snap = JSON.parse(cli(county, 'snapshot', '--json'))
  const children = snap.children || (snap.tables && snap.tables.children) || []
  assert.equal(children.length, 40, '县登记库快照中应有40名学生')
})
