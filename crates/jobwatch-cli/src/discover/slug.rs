//! Job names from crontab commands: readable (`php artisan invoices:send` is
//! `artisan-invoices-send`, `/opt/bin/backup.sh` is `backup`), derived from the command alone
//! so they are the same on every run, and made unique in the order the lines come. Also
//! recognises a command discover already wrapped, and the `timeout` that bounds a command.

use jobwatch_core::{Duration, Slug};

/// Programs that run another command: skipped, with their options.
const WRAPPERS: [&str; 13] = [
    "nice", "ionice", "nohup", "flock", "timeout", "sudo", "env", "chronic", "time", "setsid",
    "run-one", "exec", "npx",
];
/// Wrappers whose first word after the options is theirs, not the command's.
const WRAPPERS_WITH_ARGUMENT: [&str; 2] = ["flock", "timeout"];
/// Interpreters: the job is the script they run.
const INTERPRETERS: [&str; 14] = [
    "sh", "bash", "zsh", "dash", "python", "python2", "python3", "php", "node", "ruby", "perl",
    "deno", "bun", "rscript",
];
/// Runners whose first argument names the task: `manage.py send_invoices`.
const RUNNERS: [&str; 9] = [
    "manage", "artisan", "rake", "make", "npm", "yarn", "console", "drush", "wp",
];
const SCRIPT_EXTENSIONS: [&str; 7] = [".sh", ".bash", ".py", ".php", ".rb", ".pl", ".js"];

/// Shell words of `command`, up to the first operator that ends the simple command (`|`,
/// `;`, `&&`, `>`, ...). Quotes are removed; `cd <dir> &&` and `cd <dir>;` are skipped.
fn words(command: &str) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    all.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, '|' | ';' | '&' | '>' | '<' | '(' | ')') => {
                if in_word {
                    all.push(std::mem::take(&mut current));
                    in_word = false;
                }
                all.push(c.to_string());
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        all.push(current);
    }
    // `cd /srv/app && php artisan x`: the job is what runs after the `cd`.
    while all.first().is_some_and(|w| w == "cd") {
        match all.iter().position(|w| w == ";" || w == "&") {
            Some(i) => {
                let rest = all.split_off(i + 1);
                all = rest.into_iter().skip_while(|w| w == "&").collect();
            }
            None => break,
        }
    }
    let end = all
        .iter()
        .position(|w| matches!(w.as_str(), "|" | ";" | "&" | ">" | "<" | "(" | ")"))
        .unwrap_or(all.len());
    all.truncate(end);
    all
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn stem(word: &str) -> &str {
    let base = basename(word);
    SCRIPT_EXTENSIONS
        .iter()
        .find_map(|ext| base.strip_suffix(ext))
        .filter(|s| !s.is_empty())
        .unwrap_or(base)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
    })
}

/// Whether `option` of `wrapper` takes the next word as its value (`nice -n 10`).
fn takes_value(wrapper: &str, option: &str) -> bool {
    matches!(
        (wrapper, option),
        ("sudo", "-u" | "-g")
            | ("nice", "-n")
            | ("ionice", "-c" | "-n")
            | ("timeout", "-k" | "-s")
            | ("flock", "-w" | "-E")
            | ("env", "-u")
    )
}

/// Two-word wrappers: `bundle exec rake x` runs `rake x`.
fn two_word_wrapper(first: &str, second: Option<&String>) -> bool {
    matches!(
        (first, second.map(String::as_str)),
        ("bundle", Some("exec")) | ("poetry" | "pipenv" | "uv", Some("run"))
    )
}

/// The readable name of what `command` runs (not yet made unique), e.g. `artisan-invoices-send`.
pub fn derive(command: &str) -> String {
    let words = words(command);
    let mut i = 0;
    while words.get(i).is_some_and(|w| is_assignment(w)) {
        i += 1;
    }
    while let Some(word) = words.get(i) {
        let name = basename(word).to_ascii_lowercase();
        if two_word_wrapper(&name, words.get(i + 1)) {
            i += 2;
            continue;
        }
        if !WRAPPERS.contains(&name.as_str()) {
            let rest: Vec<&str> = words[i + 1..].iter().map(String::as_str).collect();
            return derive_from(word, rest);
        }
        i += 1;
        while let Some(option) = words.get(i) {
            if option.starts_with('-') {
                i += if takes_value(&name, option) { 2 } else { 1 };
            } else if is_assignment(option) {
                i += 1;
            } else {
                break;
            }
        }
        if WRAPPERS_WITH_ARGUMENT.contains(&name.as_str()) {
            i += 1; // the lock file, or the duration
        }
    }
    "cron-job".to_string()
}

fn derive_from(program: &str, rest: Vec<&str>) -> String {
    let mut rest = rest.into_iter();
    let mut main = program.to_string();
    let name = basename(program).to_ascii_lowercase();
    let interpreter = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if INTERPRETERS.contains(&name.as_str()) || INTERPRETERS.contains(&interpreter) {
        let mut module = false;
        for word in rest.by_ref() {
            if word == "-m" {
                module = true;
                continue;
            }
            if word == "-c" {
                // `bash -c '<command>'`: name the inner command.
                return rest.next().map_or_else(|| name.clone(), derive);
            }
            if word.starts_with('-') {
                continue;
            }
            main = if module {
                word.replace('.', "-")
            } else {
                word.to_string()
            };
            break;
        }
    }
    let mut parts = vec![stem(&main).to_string()];
    if RUNNERS.contains(&parts[0].to_ascii_lowercase().as_str())
        && let Some(task) = rest.find(|w| !w.starts_with('-') && !is_assignment(w))
    {
        parts.push(task.to_string());
    }
    slugify(&parts.join("-"))
}

/// Lower case, runs of anything but `a-z0-9_` as one `-`, at most 64 characters.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.chars().take(64).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "cron-job".to_string()
    } else {
        slug
    }
}

/// `base`, or `base-2`, `base-3`, ... : the first that `taken` does not hold (within 64
/// characters).
pub fn unique(base: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let head: String = base.chars().take(64 - suffix.len()).collect();
            format!("{}{suffix}", head.trim_end_matches('-'))
        })
        .find(|s| !taken(s))
        .unwrap_or_else(|| base.to_string())
}

/// The slug of a command discover already wrapped (`<path>/jobwatch run [options] <slug> --
/// ...`), so a second run keeps it.
pub fn wrapped(command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    let program = words.next()?.trim_matches(|c| c == '"' || c == '\'');
    if basename(program) != "jobwatch" || words.next()? != "run" {
        return None;
    }
    let slug = words.find(|w| !w.starts_with('-'))?;
    Slug::parse(slug).ok().map(|s| s.as_str().to_string())
}

/// The limit a leading `timeout <duration>` puts on the command (`timeout 2h ./x`), which
/// becomes the job's `max_runtime`.
pub fn timeout_of(command: &str) -> Option<Duration> {
    let words = words(command);
    let mut i = words.iter().position(|w| w == "timeout")? + 1;
    while let Some(option) = words.get(i).filter(|w| w.starts_with('-')) {
        i += if takes_value("timeout", option) { 2 } else { 1 };
    }
    let duration = words.get(i)?;
    // coreutils: a number with an optional s/m/h/d suffix; a bare number is seconds.
    let text = if duration.bytes().all(|b| b.is_ascii_digit()) {
        format!("{duration}s")
    } else {
        duration.clone()
    };
    text.parse::<Duration>().ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_runs() {
        for (command, slug) in [
            ("/usr/local/bin/backup.sh", "backup"),
            ("/srv/erp/bin/invoices.sh --month=previous", "invoices"),
            (
                "cd /srv/erp && php artisan attendance:close",
                "artisan-attendance-close",
            ),
            (
                "/usr/bin/python3 /srv/erp/scripts/statistics.py >> /var/log/s.log 2>&1",
                "statistics",
            ),
            ("python3 -m reports.daily --quiet", "reports-daily"),
            (
                "cd /app; /app/venv/bin/python manage.py send_invoices --all",
                "manage-send_invoices",
            ),
            ("flock -n /tmp/sync.lock rsync -a /a /b", "rsync"),
            ("timeout 2h nice -n 10 /opt/etl/run-etl", "run-etl"),
            (
                "PATH=/bin:/usr/bin RAILS_ENV=production bundle exec rake db:dump",
                "rake-db-dump",
            ),
            ("bash -c 'pg_dump app | gzip > /b/app.gz'", "pg_dump"),
            ("sudo -u www-data /usr/bin/php /var/www/cron.php", "cron"),
            ("curl -fsS https://example.com/cron", "curl"),
            ("\"/opt/My Tools/Sync Now.sh\"", "sync-now"),
            ("%%%", "cron-job"),
        ] {
            assert_eq!(derive(command), slug, "{command}");
            assert!(Slug::parse(&derive(command)).is_ok(), "{command}");
        }
    }

    #[test]
    fn names_are_made_unique_and_kept_short() {
        let taken = |s: &str| s == "backup" || s == "backup-2";
        assert_eq!(unique("backup", &taken), "backup-3");
        assert_eq!(unique("report", &taken), "report");
        let long = slugify(&"x".repeat(100));
        assert_eq!(long.len(), 64);
        let all_taken = |s: &str| s == long;
        assert_eq!(unique(&long, &all_taken).len(), 64);
    }

    #[test]
    fn a_wrapped_command_keeps_its_slug_and_a_timeout_is_a_limit() {
        assert_eq!(
            wrapped("/usr/local/bin/jobwatch run backup -- /bin/backup.sh").as_deref(),
            Some("backup")
        );
        assert_eq!(
            wrapped("jobwatch run --create etl -- sh -c 'x'").as_deref(),
            Some("etl")
        );
        assert_eq!(wrapped("/bin/backup.sh"), None);
        assert_eq!(
            timeout_of("timeout 2h /bin/x"),
            Some(Duration::from_hours(2))
        );
        assert_eq!(
            timeout_of("timeout -k 5 90 /bin/x"),
            Some(Duration::from_secs(90))
        );
        assert_eq!(timeout_of("/bin/x"), None);
    }
}
