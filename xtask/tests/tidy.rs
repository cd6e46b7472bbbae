//! Tidy checks on the house itself (as rust-analyzer's xtask keeps them): short functions,
//! kinds that are types, one loader per kind of data, and a `main.rs` that only dispatches.

use std::path::{Path, PathBuf};

fn sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: Vec<(PathBuf, String)> = walkdir::WalkDir::new(&src)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            (
                e.path().strip_prefix(&src).unwrap().to_path_buf(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The code of a file without its unit tests.
fn product_code(text: &str) -> &str {
    text.split("\n#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn no_function_is_longer_than_100_lines() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "unsafe fn ",
                "pub unsafe fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p))
                && !trimmed.ends_with(';');
            if !is_fn {
                continue;
            }
            // rustfmt closes a function with `}` at the indentation it opened at.
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            if let Some(end) = lines[i + 1..].iter().position(|l| *l == close)
                && end + 2 > 100
            {
                long.push(format!("{}:{} ({} lines)", path.display(), i + 1, end + 2));
            }
        }
    }
    assert!(long.is_empty(), "functions over 100 lines: {long:#?}");
}

#[test]
fn kinds_are_types_not_string_tests() {
    let forbidden = [
        "starts_with(\"wasm",
        "contains(\"wasm",
        "contains(\"qemu",
        "starts_with(\"qemu",
        "glibc_baseline.is_some()",
        "== \"x86_64\"",
        "== \"aarch64\"",
        "== \"wasi\"",
        "\"static-pic\" =>",
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        for (i, line) in product_code(&text).lines().enumerate() {
            if let Some(p) = forbidden.iter().find(|p| line.contains(*p)) {
                found.push(format!("{}:{}: {p}", path.display(), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "decide by the typed kind (Platform, Runner, Family, Flavor), not by a name: {found:#?}"
    );
}

#[test]
fn each_kind_of_data_has_one_loader() {
    // Where each loader may be called from, outside unit tests.
    let allowed: [(&str, &[&str]); 4] = [
        ("Recipe::parse(", &["model/mod.rs"]),
        ("Target::parse(", &["model/mod.rs"]),
        ("Manifest::load(", &["model/sysroot.rs"]),
        (
            "Tools::resolve(",
            &["model/mod.rs", "commands/provision.rs"],
        ),
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        let code = product_code(&text);
        for (call, places) in allowed {
            if code.contains(call) && !places.iter().any(|p| path == Path::new(p)) {
                found.push(format!("{call} in {}", path.display()));
            }
        }
        // A command loads the catalog once and passes it down.
        if path.starts_with("commands") && code.matches("Catalog::load(").count() > 1 {
            found.push(format!("Catalog::load( twice in {}", path.display()));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn main_only_parses_and_dispatches() {
    let sources = sources();
    let main = &sources
        .iter()
        .find(|(p, _)| p == Path::new("main.rs"))
        .unwrap()
        .1;
    let fns = main.lines().filter(|l| l.starts_with("fn ")).count();
    assert!(
        fns <= 3,
        "main.rs holds {fns} functions: put work in a command or the model"
    );
    assert!(main.lines().count() < 200, "main.rs grew past 200 lines");
    for (path, text) in &sources {
        assert!(
            !text.contains("crate::main"),
            "{} reaches into main.rs",
            path.display()
        );
    }
}
