//! 数据交换 screen: this site's key card and fingerprint; the trusted sites (trust a card read
//! from a file, with the fingerprint compared by phone); a bundle exported into a folder or USB
//! stick, and one or more bundle files imported, each as a long job with progress and cancel;
//! the open conflicts, each shown side by side and resolved by keeping one side; the bundles held
//! for a decision (a clock far ahead), accepted or refused with a reason, and the records waiting
//! for a missing bundle, forced in with a reason.

use super::jobs::{JobStatus, Output};
use super::{AppState, Reply, UiError};
use baoxue::bundle::{self, card, conflicts, keys, merge, trust, ExportOptions, ImportReport};
use baoxue::Register;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tauri::{AppHandle, State};

fn invalid(message: impl Into<String>) -> UiError {
    UiError {
        code: "invalid".into(),
        message: message.into(),
    }
}

fn io(path: &Path, e: std::io::Error) -> UiError {
    baoxue::Error::io(path, e).into()
}

/// This site's public key card (made, with its keys, on first use).
fn my_card(reg: &mut Register, state: &AppState) -> Reply<card::SiteCard> {
    let me = reg.require_site()?;
    let actor = state.actor();
    let k = match keys::load(reg.conn()) {
        Ok(k) => k,
        Err(_) => {
            let w = reg.writer(&actor)?;
            let k = keys::load_or_create(w.conn(), actor.now)?;
            w.commit()?;
            k
        }
    };
    Ok(card::make(&me, &k, &actor.now.to_rfc3339())?)
}

/// This site as its card says.
#[derive(Debug, Serialize)]
pub struct MySite {
    pub site_id: String,
    pub kind: baoxue::domain::SiteKind,
    pub name: String,
    pub kind_label: String,
    pub region_code: String,
    pub school_code: Option<String>,
    pub fingerprint: String,
}

/// Everything the screen shows at once.
#[derive(Debug, Serialize)]
pub struct Overview {
    pub me: MySite,
    pub trusted: Vec<trust::TrustedSite>,
    pub conflicts: Vec<conflicts::Conflict>,
    /// Where bundles and cards are saved unless the clerk picks another folder.
    pub default_dir: String,
}

#[tauri::command]
pub async fn exchange_overview(state: State<'_, AppState>) -> Reply<Overview> {
    let mut reg = state.register()?;
    let c = my_card(&mut reg, &state)?;
    Ok(Overview {
        me: MySite {
            site_id: c.site_id,
            kind: c.kind,
            name: c.name,
            kind_label: c.kind.label().into(),
            region_code: c.region_code,
            school_code: c.school_code,
            fingerprint: c.fingerprint,
        },
        trusted: trust::list(reg.conn())?,
        conflicts: conflicts::list(reg.conn())?,
        default_dir: baoxue::paths::default_export_dir().display().to_string(),
    })
}

/// Where a file was written.
#[derive(Debug, Serialize)]
pub struct Saved {
    pub path: String,
}

/// A path typed or picked: a folder gets `default_name` inside it. An existing file is refused
/// (code `exists`) unless `overwrite`.
fn target(path: &str, default_name: &str, overwrite: bool) -> Reply<PathBuf> {
    let p = PathBuf::from(path.trim());
    if path.trim().is_empty() {
        return Err(invalid("请填写保存位置（文件夹或文件名）"));
    }
    let p = if p.is_dir() { p.join(default_name) } else { p };
    if p.exists() && !overwrite {
        return Err(UiError {
            code: "exists".into(),
            message: format!("文件“{}”已存在", p.display()),
        });
    }
    Ok(p)
}

/// Saves this site's key card (JSON) to hand to the county or another site.
#[tauri::command]
pub async fn exchange_save_card(
    state: State<'_, AppState>,
    path: String,
    overwrite: bool,
) -> Reply<Saved> {
    let mut reg = state.register()?;
    let c = my_card(&mut reg, &state)?;
    let out = target(&path, &format!("{}_密钥卡.json", c.name), overwrite)?;
    let text = serde_json::to_string_pretty(&c).map_err(baoxue::Error::from)?;
    std::fs::write(&out, text.as_bytes()).map_err(|e| io(&out, e))?;
    Ok(Saved {
        path: out.display().to_string(),
    })
}

/// A card read from a file, before trusting it.
#[derive(Debug, Serialize)]
pub struct CardFacts {
    pub site_id: String,
    pub name: String,
    pub kind_label: String,
    pub region_code: String,
    pub school_code: Option<String>,
    pub fingerprint: String,
    pub already_trusted: bool,
}

fn read_card(path: &str) -> Reply<Vec<u8>> {
    let p = PathBuf::from(path.trim());
    if path.trim().is_empty() {
        return Err(invalid("请填写密钥卡文件的位置"));
    }
    baoxue::limits::read_bounded(&p, 1 << 20).map_err(|e| UiError {
        code: "io".into(),
        message: format!("无法读取密钥卡“{}”：{e}", p.display()),
    })
}

#[tauri::command]
pub async fn exchange_read_card(state: State<'_, AppState>, path: String) -> Reply<CardFacts> {
    let c = card::parse_and_check(&read_card(&path)?)?;
    let reg = state.register()?;
    Ok(CardFacts {
        already_trusted: trust::get(reg.conn(), &c.site_id)?.is_some(),
        site_id: c.site_id,
        name: c.name,
        kind_label: c.kind.label().into(),
        region_code: c.region_code,
        school_code: c.school_code,
        fingerprint: c.fingerprint,
    })
}

/// Trusts the card at `path`; the fingerprint the other site read out on the phone must match.
#[tauri::command]
pub async fn exchange_trust(
    state: State<'_, AppState>,
    path: String,
    fingerprint: String,
) -> Reply<trust::TrustedSite> {
    if fingerprint.trim().is_empty() {
        return Err(invalid(
            "请先电话联系对方，请对方念出其指纹（20位数字），填入后再信任",
        ));
    }
    let bytes = read_card(&path)?;
    let mut reg = state.writable()?;
    let (t, _) = trust::trust(&mut reg, &bytes, Some(&fingerprint), &state.actor())?;
    Ok(t)
}

/// Exports a bundle into `dir` (a folder, a USB stick) as a job; the result is the summary.
#[tauri::command]
pub async fn exchange_export_start(
    app: AppHandle,
    state: State<'_, AppState>,
    to: Option<String>,
    full: bool,
    dir: String,
) -> Reply<JobStatus> {
    let folder = PathBuf::from(dir.trim());
    if dir.trim().is_empty() || !folder.is_dir() {
        return Err(invalid(format!(
            "文件夹“{}”不存在：请插好U盘，选择或填写一个已有的文件夹",
            dir.trim()
        )));
    }
    let to = to.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    state.jobs.start(&app, "export", move |state, job, reg| {
        let actor = state.actor();
        let me = reg.require_site()?;
        let recipient = bundle::export::resolve_recipient(reg.conn(), to.as_deref())?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let name = format!(
            "{}_至_{}_{}{}.bxb",
            me.name,
            recipient.name,
            stamp,
            if full { "_完整" } else { "" }
        );
        let out = folder.join(name.replace(['/', '\\'], "-"));
        let opts = ExportOptions {
            to: Some(recipient.site_id),
            full,
        };
        let s = job.control(|ctl| bundle::export_bundle_with(reg, &opts, &out, &actor, ctl))?;
        let v = serde_json::to_value(s).map_err(baoxue::Error::from)?;
        Ok::<Output, UiError>((v, None))
    })
}

/// The bundle files named: files as they are, folders by their `.bxb` files (sorted).
fn bundle_files(paths: &[String]) -> Reply<Vec<PathBuf>> {
    let mut out = Vec::new();
    for raw in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(raw);
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&p)
                .map_err(|e| io(&p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file() && f.extension().is_some_and(|x| x.eq_ignore_ascii_case("bxb"))
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(invalid("请填写数据包文件（.bxb）或其所在的文件夹"));
    }
    Ok(out)
}

/// Imports bundle files (or folders of them) as a job; the result is one report per bundle.
/// Cancelling stops the bundle being merged (rolled back) and leaves the rest unread.
#[tauri::command]
pub async fn exchange_import_start(
    app: AppHandle,
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> Reply<JobStatus> {
    let files = bundle_files(&paths)?;
    state
        .jobs
        .start(&app, "bundle_import", move |state, job, reg| {
            let actor = state.actor();
            let n = files.len();
            let mut reports: Vec<ImportReport> = Vec::with_capacity(n);
            for (i, f) in files.iter().enumerate() {
                let name = f.display().to_string();
                if job.cancelled() {
                    let mut r = merge::refused_report(&name);
                    r.reason = Some("cancelled".into());
                    r.message = Some("已取消，未导入".into());
                    reports.push(r);
                    continue;
                }
                job.set_step(format!("第 {}/{} 个数据包：{}", i + 1, n, file_name(f)));
                let r = match baoxue::limits::read_bounded(f, baoxue::limits::MAX_BUNDLE_BYTES) {
                    Ok(bytes) => job.control(|ctl| {
                        merge::import_bundle_with(
                            reg,
                            bytes,
                            &name,
                            &actor,
                            merge::Overrides::default(),
                            ctl,
                        )
                    }),
                    Err(e) => {
                        let mut r = merge::refused_report(&name);
                        r.reason = Some("io".into());
                        r.message = Some(format!("无法读取文件：{e}"));
                        r
                    }
                };
                reports.push(r);
            }
            let v = serde_json::to_value(reports).map_err(baoxue::Error::from)?;
            Ok::<Output, UiError>((v, None))
        })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One conflict with every side in full, numbers masked.
#[derive(Debug, Serialize)]
pub struct ConflictSides {
    pub conflict: conflicts::Conflict,
    pub sides: Vec<conflicts::Side>,
}

#[tauri::command]
pub async fn exchange_conflict(
    state: State<'_, AppState>,
    record_id: String,
) -> Reply<ConflictSides> {
    let reg = state.register()?;
    let (conflict, sides) = conflicts::show(reg.conn(), &record_id, false)?;
    Ok(ConflictSides { conflict, sides })
}

/// Keeps one side (its version) of a conflict, with the clerk's reason; the resolution travels
/// in the next bundle.
#[tauri::command]
pub async fn exchange_resolve(
    state: State<'_, AppState>,
    record_id: String,
    keep: String,
    reason: String,
) -> Reply<String> {
    if reason.trim().is_empty() {
        return Err(invalid(
            "请写明为什么保留这一方（处理理由会记入日志并随数据包传出）",
        ));
    }
    let mut reg = state.writable()?;
    Ok(conflicts::resolve(
        &mut reg,
        &record_id,
        &keep,
        &reason,
        &state.actor(),
    )?)
}

// --- held bundles and waiting records (the CLI's `bundle held …` and `bundle waiting …`) ----------

/// A bundle held for a clerk's decision (a clock far ahead), as the screen lists it.
#[derive(Debug, Serialize)]
pub struct HeldBundle {
    pub hash: String,
    pub bundle_id: String,
    pub from_site: String,
    pub from_name: String,
    pub seq: i64,
    pub created_at: String,
    pub received_at: String,
    pub reason: Option<String>,
    /// Why it is held and what to check, in Chinese.
    pub message: String,
}

fn held_message(reason: Option<&str>) -> String {
    match reason {
        Some("clock_ahead") => "数据包中有修改时间比本机时间晚很多（超前），可能是对方电脑的时钟设错了。\
             未导入任何记录，本机时钟也未改动。请电话核实对方电脑的日期：确认数据无误再接受，否则拒收并请对方改正时钟后重新导出。"
            .into(),
        Some(other) => format!("已暂扣（{other}），请核实后接受或拒收"),
        None => "已暂扣，请核实后接受或拒收".into(),
    }
}

/// The held bundles, oldest sender first.
#[tauri::command]
pub async fn exchange_held(state: State<'_, AppState>) -> Reply<Vec<HeldBundle>> {
    let reg = state.register()?;
    let list = baoxue::store::bundles_received::list_by_status(reg.conn(), "held")?;
    let mut out = Vec::with_capacity(list.len());
    for b in list {
        let from_name = trust::get(reg.conn(), &b.from_site)?
            .map(|s| s.name)
            .unwrap_or_else(|| b.from_site.clone());
        out.push(HeldBundle {
            message: held_message(b.reason.as_deref()),
            hash: b.hash,
            bundle_id: b.bundle_id,
            from_site: b.from_site,
            from_name,
            seq: b.seq,
            created_at: b.created_at,
            received_at: b.received_at,
            reason: b.reason,
        });
    }
    Ok(out)
}

fn need_reason(reason: &str, what: &str) -> Reply<()> {
    if reason.trim().is_empty() {
        return Err(invalid(format!(
            "请写明{what}的理由（会记入日志：谁、何时、为什么）"
        )));
    }
    Ok(())
}

/// Refuses a held bundle with the clerk's reason (recorded); nothing of it is applied.
#[tauri::command]
pub async fn exchange_held_refuse(
    state: State<'_, AppState>,
    hash: String,
    reason: String,
) -> Reply<ImportReport> {
    need_reason(&reason, "拒收")?;
    let mut reg = state.writable()?;
    Ok(merge::decide_held(
        &mut reg,
        &hash,
        false,
        &reason,
        &state.actor(),
    )?)
}

/// Accepts a held bundle with the clerk's reason (recorded) and applies it, as a job on its own
/// connection (a bundle may be large); the result is a list of one bundle report.
#[tauri::command]
pub async fn exchange_held_accept_start(
    app: AppHandle,
    state: State<'_, AppState>,
    hash: String,
    reason: String,
) -> Reply<JobStatus> {
    need_reason(&reason, "接受")?;
    state
        .jobs
        .start(&app, "bundle_import", move |state, job, reg| {
            job.set_step("接受暂扣的数据包".into());
            let r = merge::decide_held(reg, &hash, true, &reason, &state.actor())?;
            let v = serde_json::to_value(vec![r]).map_err(baoxue::Error::from)?;
            Ok::<Output, UiError>((v, None))
        })
}

/// The records waiting for a missing bundle (their base version is unknown here).
#[tauri::command]
pub async fn exchange_waiting(state: State<'_, AppState>) -> Reply<Vec<bundle::waiting::Waiting>> {
    Ok(bundle::waiting::list(state.register()?.conn())?)
}

/// Forces one waiting record in (its missing bundle will not come), with the clerk's reason.
#[tauri::command]
pub async fn exchange_waiting_force(
    state: State<'_, AppState>,
    record_id: String,
    reason: String,
) -> Reply<bundle::waiting::Forced> {
    need_reason(&reason, "强制导入")?;
    let mut reg = state.writable()?;
    Ok(bundle::waiting::force(
        &mut reg,
        &record_id,
        &reason,
        &state.actor(),
    )?)
}
