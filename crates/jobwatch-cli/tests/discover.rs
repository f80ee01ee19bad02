//! `jobwatch discover` on realistic crontabs, as the real binary: the school ERP's four jobs
//! in Seoul, a system crontab (user field, nicknames, `%` input, comments, settings, lines it
//! must leave alone). The proposed schedules fire at the original lines' instants over a
//! year; the rewritten lines run their commands with the same output, input and exit status
//! as cron would; a second run changes nothing; `--apply` backs up and installs through
//! `crontab -`, and the jobs exist on the server before they run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use jiff::Timestamp;
use jobwatch_core::Schedule;
use jobwatch_testkit::serve_process::{ServeProcess, clean_env};

const BIN: &str = env!("CARGO_BIN_EXE_jobwatch");
const API_KEY: &str = "discover-api-key";
const PING_KEY: &str = "discover-ping-key";

const SCHOOL_ERP: &str = "\
MAILTO=ops@school.example
CRON_TZ=Asia/Seoul
# School ERP
0 9 * * * cd /srv/erp && php artisan attendance:close
0 10 1 * * /srv/erp/bin/invoices.sh --month=previous
0 14 * * * /usr/bin/python3 /srv/erp/scripts/statistics.py >> /var/log/erp/stats.log 2>&1
0 23 * * * /srv/erp/bin/backup.sh
";

const SYSTEM: &str = "\
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
TZ=Europe/Berlin
# m h dom mon dow user  command
17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly
@daily          postgres pg_dump app | gzip > /var/backups/app-$(date +\\%F).sql.gz
@reboot         root    /usr/local/bin/warm-cache
# jobwatch: ignore
*/5 * * * *     www-data php /var/www/cron.php
# jobwatch: mail-digest
0 7 * * 1-5     www-data /usr/bin/mail -s \"Digest\" team@example.com%Good morning,%the digest follows.%
0 25 * * *      root    /usr/local/bin/impossible
@often          root    /usr/local/bin/sometimes
30 2 * * 0      root    timeout 2h /usr/local/bin/weekly-etl
";

fn discover(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    clean_env(&mut command)
        .current_dir(dir)
        .arg("discover")
        .args([
            "--jobwatch-bin",
            "/usr/local/bin/jobwatch",
            "--default-tz",
            "UTC",
        ])
        .args(["--url", "http://jobwatch.example:8000"])
        .args(args)
        .output()
        .expect("run jobwatch discover")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fire time of `expr` in `tz` in the year from 2027-01-01.
fn year_of(expr: &str, tz: &str) -> Vec<Timestamp> {
    let schedule = Schedule::cron(expr, tz).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let start: Timestamp = "2026-12-31T23:59:59Z".parse().expect("time");
    let end: Timestamp = "2028-01-01T00:00:00Z".parse().expect("time");
    let mut times = Vec::new();
    let mut cursor = start;
    while let Some(next) = schedule.next_after(cursor).filter(|t| *t < end) {
        times.push(next);
        cursor = next;
    }
    times
}

/// The jobs file's jobs: (slug, schedule, tz, max_runtime).
fn jobs_in(path: &Path) -> Vec<(String, String, String, Option<String>)> {
    let file: toml::Table = read(path).parse().expect("the jobs file is TOML");
    let jobs = file["jobs"].as_table().expect("[jobs]");
    jobs.iter()
        .map(|(slug, job)| {
            let text = |key: &str| job.get(key).and_then(|v| v.as_str()).map(str::to_string);
            (
                slug.clone(),
                text("schedule").expect("schedule"),
                text("tz").expect("tz"),
                text("max_runtime"),
            )
        })
        .collect()
}

#[test]
fn the_school_erp_s_four_jobs_keep_their_seoul_schedule_for_a_year() {
    let dir = tempfile::tempdir().expect("temp dir");
    let crontab = dir.path().join("erp.crontab");
    std::fs::write(&crontab, SCHOOL_ERP).expect("write");
    let out = ok(&discover(
        dir.path(),
        &["--crontab", "erp.crontab", "--crontab-out", "erp.new"],
    ));
    assert!(out.starts_with("4 job(s) found:\n"), "{out}");
    assert_eq!(
        read(&dir.path().join("erp.new")),
        "\
# Where `jobwatch run` reports (added by jobwatch discover)
JOBWATCH_URL=http://jobwatch.example:8000
MAILTO=ops@school.example
CRON_TZ=Asia/Seoul
# School ERP
0 9 * * * /usr/local/bin/jobwatch run artisan-attendance-close -- sh -c 'cd /srv/erp && php artisan attendance:close'
0 10 1 * * /usr/local/bin/jobwatch run invoices -- /srv/erp/bin/invoices.sh --month=previous
0 14 * * * /usr/local/bin/jobwatch run statistics -- sh -c '/usr/bin/python3 /srv/erp/scripts/statistics.py >> /var/log/erp/stats.log 2>&1'
0 23 * * * /usr/local/bin/jobwatch run backup -- /srv/erp/bin/backup.sh
"
    );
    let jobs = jobs_in(&dir.path().join("jobs.toml"));
    let original = [
        ("artisan-attendance-close", "0 9 * * *"),
        ("invoices", "0 10 1 * *"),
        ("statistics", "0 14 * * *"),
        ("backup", "0 23 * * *"),
    ];
    let mut slugs: Vec<&str> = original.iter().map(|(s, _)| *s).collect();
    slugs.sort_unstable();
    assert_eq!(jobs.iter().map(|j| j.0.as_str()).collect::<Vec<_>>(), slugs);
    for (slug, line) in original {
        let job = jobs.iter().find(|j| j.0 == slug).expect("proposed");
        assert_eq!(job.2, "Asia/Seoul", "{slug}: the zone from CRON_TZ");
        let proposed = year_of(&job.1, &job.2);
        assert_eq!(proposed, year_of(line, "Asia/Seoul"), "{slug}");
        let expected_count = if slug == "invoices" { 12 } else { 365 };
        assert_eq!(proposed.len(), expected_count, "{slug}");
    }
    let attendance = year_of("0 9 * * *", "Asia/Seoul");
    assert_eq!(
        attendance[0].to_string(),
        "2027-01-01T00:00:00Z",
        "09:00 KST"
    );

    // Again, on the rewritten crontab: the same jobs, nothing to change.
    let before = read(&dir.path().join("jobs.toml"));
    let out = ok(&discover(
        dir.path(),
        &["--crontab", "erp.new", "--crontab-out", "erp.again"],
    ));
    assert!(out.contains("jobs.toml: unchanged"), "{out}");
    assert!(out.contains("erp.new: unchanged"), "{out}");
    assert_eq!(read(&dir.path().join("jobs.toml")), before);
    assert_eq!(
        read(&dir.path().join("erp.again")),
        read(&dir.path().join("erp.new"))
    );
}

#[test]
fn a_system_crontab_keeps_users_settings_and_input_and_says_what_it_left() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("system"), SYSTEM).expect("write");
    let output = discover(
        dir.path(),
        &["--crontab", "system", "--user-field", "--dry-run"],
    );
    let out = ok(&output);
    assert!(
        !dir.path().join("jobs.toml").exists(),
        "a dry run writes nothing"
    );
    for line in [
        "-17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly",
        "+17 *\t* * *\troot    /usr/local/bin/jobwatch run run-parts -- \"$SHELL\" -c 'cd / && run-parts --report /etc/cron.hourly'",
        "+@daily          postgres /usr/local/bin/jobwatch run pg_dump -- \"$SHELL\" -c 'pg_dump app | gzip > /var/backups/app-$(date +\\%F).sql.gz'",
        "+0 7 * * 1-5     www-data /usr/local/bin/jobwatch run mail-digest -- \"$SHELL\" -c '/usr/bin/mail -s \"Digest\" team@example.com'%Good morning,%the digest follows.%",
        "+30 2 * * 0      root    /usr/local/bin/jobwatch run weekly-etl -- timeout 2h /usr/local/bin/weekly-etl",
        " @reboot         root    /usr/local/bin/warm-cache",
        " */5 * * * *     www-data php /var/www/cron.php",
        " 0 25 * * *      root    /usr/local/bin/impossible",
    ] {
        assert!(out.contains(&format!("\n{line}\n")), "{line}\n{out}");
    }
    for note in [
        "system:7: @reboot runs once at boot, not on a schedule: skipped",
        "system:9: ignored (# jobwatch: ignore)",
        "system:12: invalid cron schedule: hour field: value 25 is out of range 0-23; left as it is",
        "system:13: invalid cron schedule: unknown nickname '@often' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly); left as it is",
    ] {
        assert!(out.contains(&format!("  {note}")), "{note}\n{out}");
    }
    assert!(
        out.contains("[jobs.weekly-etl]\nschedule = \"30 2 * * 0\"\ntz = \"Europe/Berlin\"\n"),
        "{out}"
    );
    assert!(
        out.contains("max_runtime = \"2h\""),
        "the timeout is the limit: {out}"
    );
    assert!(
        out.contains("[jobs.pg_dump]\nschedule = \"@daily\"\ntz = \"Europe/Berlin\""),
        "{out}"
    );
    assert!(out.ends_with("Dry run: nothing was written.\n"), "{out}");

    // Written: each job fires when cron ran its line (Berlin time, DST included), and the
    // rewritten crontab reads back as the same jobs with nothing left to change.
    let args = [
        "--crontab",
        "system",
        "--user-field",
        "--crontab-out",
        "system.new",
    ];
    ok(&discover(dir.path(), &args));
    let jobs = jobs_in(&dir.path().join("jobs.toml"));
    for (slug, line) in [
        ("run-parts", "17 * * * *"),
        ("pg_dump", "0 0 * * *"),
        ("mail-digest", "0 7 * * 1-5"),
        ("weekly-etl", "30 2 * * 0"),
    ] {
        let job = jobs.iter().find(|j| j.0 == slug).expect("proposed");
        assert_eq!(job.2, "Europe/Berlin", "{slug}: the zone from TZ");
        assert_eq!(
            year_of(&job.1, &job.2),
            year_of(line, "Europe/Berlin"),
            "{slug}"
        );
    }
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    let again = [
        "--crontab",
        "system.new",
        "--user-field",
        "--crontab-out",
        "system.again",
    ];
    let out = ok(&discover(dir.path(), &again));
    assert!(
        out.contains("system.new: unchanged") && out.contains("jobs.toml: unchanged"),
        "{out}"
    );
}

/// Runs a crontab command the way cron does: `\%` is `%`, the first other `%` ends the
/// command and the rest, each `%` a newline, is its standard input; the command goes to the
/// crontab's shell. Returns (stdout, exit status).
fn as_cron_runs(command: &str, env: &[(&str, &str)]) -> (String, Option<i32>) {
    let (mut run, mut input, mut escaped, mut in_input) =
        (String::new(), String::new(), false, false);
    for c in command.chars() {
        match c {
            _ if in_input => input.push(if c == '%' { '\n' } else { c }),
            '%' if escaped => {
                run.pop();
                run.push('%');
                escaped = false;
            }
            '%' => in_input = true,
            _ => {
                escaped = c == '\\';
                run.push(c);
            }
        }
    }
    let mut child = Command::new("/bin/sh");
    clean_env(&mut child)
        .args(["-c", &run])
        .envs(env.iter().copied())
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = child.spawn().expect("sh");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    }
    let output = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code(),
    )
}

#[test]
fn a_wrapped_line_runs_as_cron_ran_the_original_and_reports_the_run() {
    let server = ServeProcess::start(BIN, API_KEY, PING_KEY, &[], &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let commands = [
        "echo plain words",
        "printf '%s\\n' \"it's quoted\" | tr a-z A-Z",
        "date -d @0 +\\%Y; exit 3",
        "cat%first line%second line",
        "echo $((6 * 7)) > /dev/stdout && false",
    ];
    let crontab: String = commands
        .iter()
        .map(|c| format!("* * * * * {c}\n"))
        .collect();
    std::fs::write(dir.path().join("tab"), &crontab).expect("write");
    let mut command = Command::new(BIN);
    let output = clean_env(&mut command)
        .current_dir(dir.path())
        .args(["discover", "--crontab", "tab", "--crontab-out", "tab.new"])
        .args([
            "--jobwatch-bin",
            BIN,
            "--default-tz",
            "UTC",
            "--url",
            &server.url(),
        ])
        .args(["--ping-key", PING_KEY, "--api-key", API_KEY, "--apply"])
        .output()
        .expect("discover");
    let out = ok(&output);
    assert!(
        out.contains("applying jobs.toml to "),
        "the jobs first: {out}"
    );
    assert_eq!(
        read(&dir.path().join("tab")),
        crontab,
        "with --crontab-out, the rewrite goes there: the file read stays as it was"
    );
    let rewritten = read(&dir.path().join("tab.new"));
    let env = [
        ("JOBWATCH_URL", server.url()),
        ("JOBWATCH_PING_KEY", PING_KEY.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lines: Vec<&str> = rewritten.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(lines.len(), commands.len(), "{rewritten}");
    for (original, wrapped) in commands.iter().zip(lines) {
        let wrapped = wrapped.trim_start_matches("* * * * * ");
        assert_eq!(
            as_cron_runs(wrapped, &env),
            as_cron_runs(original, &[]),
            "{wrapped}"
        );
    }
    let jobs = server.admin("GET", "/api/v1/jobs", "");
    let listed: serde_json::Value = serde_json::from_str(&jobs.body).expect("JSON");
    for job in listed["jobs"].as_array().expect("jobs") {
        let runs = server.admin(
            "GET",
            &format!(
                "/api/v1/jobs/{}/runs",
                job["slug"].as_str().unwrap_or_default()
            ),
            "",
        );
        assert!(
            runs.body.contains("\"outcome\""),
            "every wrapped line reported its run: {}",
            runs.body
        );
    }
}

/// A `crontab` stand-in on the PATH: `-l` prints the installed file, `-` installs standard
/// input (the real one needs a cron daemon's spool, which tests do not have).
fn fake_crontab(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let script = bin.join("crontab");
    std::fs::write(
        &script,
        "#!/bin/sh\nf=\"$FAKE_CRONTAB\"\ncase \"$1\" in\n  -l) [ -f \"$f\" ] && exec cat \"$f\"; echo \"no crontab for tester\" >&2; exit 1 ;;\n  -) cat > \"$f\" ;;\n  *) echo \"usage\" >&2; exit 2 ;;\nesac\n",
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

#[test]
fn apply_backs_up_and_installs_the_user_crontab_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = fake_crontab(dir.path());
    let installed = dir.path().join("installed");
    std::fs::write(&installed, SCHOOL_ERP).expect("write");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let mut command = Command::new(BIN);
        clean_env(&mut command)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("FAKE_CRONTAB", &installed)
            .args(["discover", "--jobwatch-bin", "/usr/local/bin/jobwatch"])
            .args(args)
            .output()
            .expect("discover")
    };
    let out = ok(&run(&["--apply"]));
    assert!(
        out.contains("No API key given: run `jobwatch jobs apply -f jobs.toml`"),
        "{out}"
    );
    assert!(
        out.contains("your crontab: installed the rewrite (the old one is saved as "),
        "{out}"
    );
    let new = read(&installed);
    assert!(
        new.contains("/usr/local/bin/jobwatch run backup -- /srv/erp/bin/backup.sh\n"),
        "{new}"
    );
    let backups: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("crontab-backup-"))
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(read(&backups[0]), SCHOOL_ERP);

    let jobs = read(&dir.path().join("jobs.toml"));
    let out = ok(&run(&["--apply"]));
    assert!(out.contains("No crontab to change."), "{out}");
    assert_eq!(read(&installed), new, "the second run changes nothing");
    assert_eq!(read(&dir.path().join("jobs.toml")), jobs);

    std::fs::remove_file(&installed).expect("rm");
    let out = ok(&run(&["--dry-run"]));
    assert!(
        out.starts_with("0 job(s) found:"),
        "no crontab is an empty one: {out}"
    );
}
