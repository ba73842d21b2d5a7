//! `docs/cli.md`, the command reference for county engineers and scripts, made from the clap
//! definitions themselves: every command and subcommand with its purpose, usage line and options.
//! A unit test compares the file with what the definitions give, so a command added without the
//! reference fails the tests; `BAOXUE_WRITE_CLI_DOCS=1 cargo test --bin baoxue cli_reference`
//! rewrites it.

use clap::{Arg, Command};
use std::fmt::Write;

/// The whole reference as Markdown.
pub fn markdown(root: &Command) -> String {
    let mut out = String::from(
        "# baoxue 命令参考 / Command reference\n\n\
         Made from the command-line definitions (`src/cli/`) by `src/cli/reference.rs`; a test \
         fails when this file is stale. Rewrite it with \
         `BAOXUE_WRITE_CLI_DOCS=1 cargo test --bin baoxue cli_reference`.\n\n\
         Global options of every command: `--db FILE` (or `BAOXUE_DB`), `--json`, \
         `--operator NAME` (or `BAOXUE_OPERATOR`).\n",
    );
    for sub in root.get_subcommands().filter(|c| shown(c)) {
        section(&mut out, sub, "baoxue", 2);
    }
    out
}

fn shown(c: &Command) -> bool {
    !c.is_hide_set() && c.get_name() != "help"
}

fn global(a: &Arg) -> bool {
    a.is_global_set() || matches!(a.get_id().as_str(), "help" | "version")
}

fn section(out: &mut String, cmd: &Command, parent: &str, depth: usize) {
    let path = format!("{parent} {}", cmd.get_name());
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = write!(out, "{} `{path}`\n\n", "#".repeat(depth.min(4)));
    if let Some(about) = cmd.get_about() {
        let _ = writeln!(out, "{about}\n");
    }
    let subs: Vec<&Command> = cmd.get_subcommands().filter(|c| shown(c)).collect();
    if subs.is_empty() {
        let mut usage = path.clone();
        for a in cmd
            .get_arguments()
            .filter(|a| !global(a) && !a.is_hide_set())
        {
            usage.push(' ');
            usage.push_str(&arg_usage(a));
        }
        let _ = writeln!(out, "```\n{usage}\n```\n");
        for a in cmd
            .get_arguments()
            .filter(|a| !global(a) && !a.is_hide_set())
        {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let _ = writeln!(out, "- `{}` {}", arg_name(a), help.replace('\n', " "));
        }
    }
    for s in subs {
        section(out, s, &path, depth + 1);
    }
}

fn arg_name(a: &Arg) -> String {
    let value = a
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
    match a.get_long() {
        Some(long) if a.get_action().takes_values() => format!("--{long} {value}"),
        Some(long) => format!("--{long}"),
        None => value,
    }
}

fn arg_usage(a: &Arg) -> String {
    let mut name = arg_name(a);
    let many = matches!(a.get_action(), clap::ArgAction::Append)
        || a.get_num_args().is_some_and(|n| n.max_values() > 1);
    if many {
        name.push('…');
    }
    if a.is_required_set() {
        name
    } else {
        format!("[{name}]")
    }
}

#[cfg(test)]
mod tests {
    use super::markdown;
    use clap::CommandFactory;

    #[test]
    fn cli_reference_is_current() {
        let text = markdown(&crate::cli::Cli::command());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
        if std::env::var_os("BAOXUE_WRITE_CLI_DOCS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "docs/cli.md is stale: run BAOXUE_WRITE_CLI_DOCS=1 cargo test --bin baoxue cli_reference"
        );
        // The contracts the issues name are in it.
        for c in [
            "`baoxue import roll`",
            "`baoxue bundle export`",
            "`baoxue crosscheck`",
            "`baoxue import list`",
        ] {
            assert!(text.contains(c), "{c}");
        }
        // Every argument says what it is (`baoxue … --help` shows the same text).
        let bare: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("- `") && l.trim_end().ends_with('`'))
            .collect();
        assert!(bare.is_empty(), "arguments without a help text: {bare:?}");
    }
}
