//! POSIX shell quoting, for logs, error messages and the small scripts the tool writes.

/// `arg` as one shell word: bare when it is plainly safe, otherwise in single quotes with
/// each `'` written as `'\''`.
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// A command line, each word quoted.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn the_shell_reads_back_what_was_quoted() {
        let words = [
            "plain",
            "two words",
            "it's",
            "$HOME",
            "a\"b",
            "",
            "x;rm -rf /",
            "*",
        ];
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {}", join(&words)))
            .output()
            .unwrap();
        let back: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(back, words);
    }
}
