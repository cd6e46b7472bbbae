//! `{name}` placeholders in the commands and values that recipes and target files carry.
//!
//! One substituter for all of them: `{tools}`, `{root}`, `{src}`, `{prefix}`, a C library's
//! name in a `Setup.local` line, and the reverse (`unexpand`) for records that must not name
//! this machine's paths.

use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// Name -> value; a value may be several words (`{cflags}`).
pub type Vars = BTreeMap<String, Vec<String>>;

pub fn vars<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Vars {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), vec![v]))
        .collect()
}

/// Substitutes each argument. An argument that is exactly `{name}` of a several-word value
/// becomes that many arguments (none for an empty one); elsewhere the words are joined by
/// spaces.
pub fn expand(argv: &[String], vars: &Vars) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for arg in argv {
        if let Some(values) = placeholder(arg).and_then(|name| vars.get(name)) {
            out.extend(values.iter().cloned());
        } else {
            out.push(expand_str(arg, vars)?);
        }
    }
    Ok(out)
}

/// Substitutes within one string; a placeholder without a value is an error naming the
/// known ones.
pub fn expand_str(text: &str, vars: &Vars) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        // `${NAME}` is the shell's or make's, not ours.
        let shell = out.ends_with('$');
        match after.find('}').map(|close| &after[..=close]) {
            Some(p) if !shell && placeholder(p).is_some() => {
                let name = placeholder(p).unwrap();
                let Some(value) = vars.get(name) else {
                    bail!(
                        "unknown placeholder {p} in {text:?}; known: {}",
                        vars.keys()
                            .map(|k| format!("{{{k}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                };
                out.push_str(&value.join(" "));
                rest = &after[p.len()..];
            }
            _ => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `{name}` -> `name` when `s` is exactly one placeholder of identifier characters.
fn placeholder(s: &str) -> Option<&str> {
    let name = s.strip_prefix('{')?.strip_suffix('}')?;
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    ok.then_some(name)
}

/// The reverse of [`expand_str`] for single-word values: each value written back as its
/// placeholder, longest value first (a tool directory inside the checkout goes before it).
pub fn unexpand(text: &str, vars: &Vars) -> String {
    let mut pairs: Vec<(&String, String)> = vars
        .iter()
        .filter(|(_, v)| v.len() == 1 && !v[0].is_empty())
        .map(|(k, v)| (k, v[0].clone()))
        .collect();
    pairs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for (name, value) in pairs {
        out = out.replace(&value, &format!("{{{name}}}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_words_lists_and_refuses_unknown_names() {
        let mut v = vars([("prefix", "/p".to_string())]);
        v.insert("cflags".into(), vec!["-O2".into(), "-g".into()]);
        v.insert("empty".into(), vec![]);
        let argv: Vec<String> = [
            "--prefix={prefix}",
            "{cflags}",
            "{empty}",
            "CFLAGS={cflags}",
            "${x}",
            "{}",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            expand(&argv, &v).unwrap(),
            ["--prefix=/p", "-O2", "-g", "CFLAGS=-O2 -g", "${x}", "{}"]
        );
        let err = expand_str("a{nope}b", &v).unwrap_err().to_string();
        assert!(err.contains("{nope}") && err.contains("{prefix}"), "{err}");
    }

    #[test]
    fn unexpand_prefers_the_longest_value() {
        let v = vars([
            ("root", "/work/repo".to_string()),
            ("tools", "/work/repo/cache/tools".to_string()),
        ]);
        assert_eq!(
            unexpand("/work/repo/cache/tools/bin/python /work/repo/x.py", &v),
            "{tools}/bin/python {root}/x.py"
        );
        assert_eq!(
            expand_str("{tools}/bin/python", &v).unwrap(),
            "/work/repo/cache/tools/bin/python"
        );
    }
}
