//! Crontab files as cron reads them: schedule lines (five fields or an `@` nickname, then in
//! system crontabs a user, then the command), environment settings (`CRON_TZ=`, `SHELL=`,
//! ...), comments (`# jobwatch: <slug>` or `# jobwatch: ignore` steers the next line) and
//! blank lines. Each line keeps its text, so a rewrite changes only the lines it wraps.

/// One line of a crontab, numbered from 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub number: usize,
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Blank,
    Comment,
    /// `# jobwatch: <word>` above a schedule line.
    Directive(Directive),
    /// `NAME=value`, the value unquoted.
    Env {
        name: String,
        value: String,
    },
    Entry(Entry),
    /// A line cron would refuse, with why.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    Ignore,
    Slug(String),
}

/// A schedule line. Its schedule is checked by the cron parser of `jobwatch schedule`, so
/// discover accepts exactly what jobwatch can watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The five fields joined by single spaces, or the nickname (`@daily`).
    pub schedule: String,
    /// The user field of a system crontab.
    pub user: Option<String>,
    /// Byte offset of the command in the line's text: everything before it is kept as is.
    pub command_at: usize,
    /// The command as written (its `%` and what follows included).
    pub command: String,
}

impl Entry {
    /// The command cron gives the shell: up to the first unescaped `%` (what follows is the
    /// command's standard input), `\%` still escaped as written.
    pub fn shell_part(&self) -> &str {
        &self.command[..first_unescaped_percent(&self.command)]
    }

    /// What follows the shell part: `%` and the standard input, or nothing.
    pub fn stdin_part(&self) -> &str {
        &self.command[first_unescaped_percent(&self.command)..]
    }
}

fn first_unescaped_percent(command: &str) -> usize {
    let mut escaped = false;
    for (i, c) in command.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '%' => return i,
            _ => {}
        }
    }
    command.len()
}

/// Parses a crontab; `with_user` for system crontabs (`/etc/crontab`, `/etc/cron.d/*`),
/// whose schedule lines name the user to run as.
pub fn parse(text: &str, with_user: bool) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, text)| Line {
            number: i + 1,
            text: text.to_string(),
            kind: kind_of(text, with_user),
        })
        .collect()
}

fn kind_of(text: &str, with_user: bool) -> Kind {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Kind::Blank;
    }
    if let Some(comment) = trimmed.strip_prefix('#') {
        return match comment.trim().strip_prefix("jobwatch:") {
            Some(word) if word.trim() == "ignore" => Kind::Directive(Directive::Ignore),
            Some(word) if !word.trim().is_empty() => {
                Kind::Directive(Directive::Slug(word.trim().to_string()))
            }
            _ => Kind::Comment,
        };
    }
    let first = trimmed.as_bytes()[0];
    if first == b'@' || first == b'*' || first.is_ascii_digit() {
        return entry(text, with_user).map_or_else(Kind::Invalid, Kind::Entry);
    }
    match env(trimmed) {
        Some((name, value)) => Kind::Env { name, value },
        None => Kind::Invalid(
            "neither a schedule line (five fields or an @nickname, then the command) nor an environment setting (NAME=value)"
                .to_string(),
        ),
    }
}

/// `NAME = value` (spaces around `=` allowed, the value optionally quoted), as cron's
/// `load_env` reads it.
fn env(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    let valid = name
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
    if name.is_empty() || !valid {
        return None;
    }
    let value = value.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(value);
    Some((name.to_string(), unquoted.to_string()))
}

/// The next whitespace-separated word of `text` from `at`: (start, end).
fn word(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let start = at + rest.len() - rest.trim_start().len();
    if start >= text.len() {
        return None;
    }
    let end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| start + i);
    Some((start, end))
}

fn entry(text: &str, with_user: bool) -> Result<Entry, String> {
    let mut at = 0;
    let mut fields = Vec::new();
    let count = if text.trim_start().starts_with('@') {
        1
    } else {
        5
    };
    for _ in 0..count {
        let Some((start, end)) = word(text, at) else {
            return Err(format!(
                "a schedule line needs {count} time field(s) and a command"
            ));
        };
        fields.push(&text[start..end]);
        at = end;
    }
    let user = if with_user {
        let Some((start, end)) = word(text, at) else {
            return Err("a system crontab line needs a user after the schedule".to_string());
        };
        at = end;
        Some(text[start..end].to_string())
    } else {
        None
    };
    let Some((command_at, _)) = word(text, at) else {
        return Err("no command after the schedule".to_string());
    };
    Ok(Entry {
        schedule: fields.join(" "),
        user,
        command_at,
        command: text[command_at..].trim_end().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, with_user: bool) -> Vec<Kind> {
        parse(text, with_user).into_iter().map(|l| l.kind).collect()
    }

    #[test]
    fn lines_are_entries_settings_comments_directives_or_invalid() {
        let text = "CRON_TZ = \"Asia/Seoul\"\n\n# nightly\n# jobwatch: ignore\n\
                    0 9 * * 1-5  cd /srv && ./run.sh > /dev/null %input%more\n\
                    @daily   /bin/backup\n\
                    oops this is not cron\n\
                    61 * *\n";
        let all = kinds(text, false);
        assert_eq!(
            all[0],
            Kind::Env {
                name: "CRON_TZ".into(),
                value: "Asia/Seoul".into()
            }
        );
        assert_eq!((&all[1], &all[2]), (&Kind::Blank, &Kind::Comment));
        assert_eq!(all[3], Kind::Directive(Directive::Ignore));
        let Kind::Entry(entry) = &all[4] else {
            panic!("{:?}", all[4])
        };
        assert_eq!(entry.schedule, "0 9 * * 1-5");
        assert_eq!(entry.shell_part(), "cd /srv && ./run.sh > /dev/null ");
        assert_eq!(entry.stdin_part(), "%input%more");
        assert_eq!(entry.command_at, 13);
        let Kind::Entry(daily) = &all[5] else {
            panic!("{:?}", all[5])
        };
        assert_eq!(
            (daily.schedule.as_str(), daily.command.as_str()),
            ("@daily", "/bin/backup")
        );
        assert!(matches!(&all[6], Kind::Invalid(r) if r.starts_with("neither a schedule line")));
        assert!(matches!(&all[7], Kind::Invalid(r) if r.contains("needs 5 time field(s)")));
    }

    #[test]
    fn an_escaped_percent_stays_in_the_command() {
        let Kind::Entry(entry) = &kinds("0 0 * * * date +\\%F > /tmp/d", false)[0] else {
            panic!()
        };
        assert_eq!(entry.shell_part(), "date +\\%F > /tmp/d");
        assert_eq!(entry.stdin_part(), "");
    }

    #[test]
    fn system_crontabs_name_a_user() {
        let Kind::Entry(entry) = &kinds(
            "17 *\t* * *\troot    cd / && run-parts /etc/cron.hourly",
            true,
        )[0] else {
            panic!()
        };
        assert_eq!(entry.user.as_deref(), Some("root"));
        assert_eq!(entry.command, "cd / && run-parts /etc/cron.hourly");
        assert!(matches!(
            &kinds("17 * * * * root", true)[0],
            Kind::Invalid(r) if r == "no command after the schedule"
        ));
        let directive = kinds("#jobwatch: db-dump", true);
        assert_eq!(
            directive[0],
            Kind::Directive(Directive::Slug("db-dump".into()))
        );
    }
}
