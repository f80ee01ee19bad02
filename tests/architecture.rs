//! The architecture's rules, checked on the sources (issue 12, "one concept, one place"):
//!
//! - no module cycle inside any crate (a top-level module that uses one that uses it back);
//! - no source file with more than 600 lines of non-test code;
//! - each Lambda `main.rs` is wiring only: under 80 lines;
//! - no crate in `crates/` dev-depends on the root package (the cross-crate test suite, which
//!   depends on everything), and no production crate ships test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_NON_TEST_LINES: usize = 600;
const MAX_LAMBDA_MAIN_LINES: usize = 80;
const LAMBDAS: [&str; 3] = ["jobwatch-ingest", "jobwatch-sweeper", "jobwatch-formatter"];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace().join("crates"))
        .expect("crates/")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The code of a file before its unit tests, without comment lines.
fn non_test_code(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect()
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// `crate::<module>` paths used in `code`.
fn crate_modules_used(code: &[&str]) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in code {
        let mut rest = *line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_cycle() {
    let mut cycles = Vec::new();
    for dir in crates() {
        let src = dir.join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in rust_files(&src) {
            let Some(module) = top_module(&src, &file) else {
                continue;
            };
            if file.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("source");
            let used = crate_modules_used(&non_test_code(&text));
            graph
                .entry(module.clone())
                .or_default()
                .extend(used.into_iter().filter(|m| *m != module));
        }
        if let Some(cycle) = find_cycle(&graph) {
            cycles.push(format!("{}: {}", dir.display(), cycle.join(" -> ")));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_source_file_has_more_than_600_lines_of_non_test_code() {
    let mut big = Vec::new();
    let dirs = crates()
        .into_iter()
        .map(|dir| dir.join("src"))
        .chain([workspace().join("tests").join("support")]);
    for dir in dirs {
        // `tests.rs` files are unit tests (`#[cfg(test)] mod tests;` beside the code).
        for file in rust_files(&dir)
            .into_iter()
            .filter(|f| !f.ends_with("tests.rs"))
        {
            let text = std::fs::read_to_string(&file).expect("source");
            let lines = text
                .lines()
                .take_while(|line| !line.starts_with("#[cfg(test)]"))
                .count();
            if lines > MAX_NON_TEST_LINES {
                big.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(
        big.is_empty(),
        "split these by concept:\n{}",
        big.join("\n")
    );
}

#[test]
fn each_lambda_main_is_wiring_only() {
    for lambda in LAMBDAS {
        let main = workspace().join("crates").join(lambda).join("src/main.rs");
        let text = std::fs::read_to_string(&main).expect("main.rs");
        let lines = text.lines().count();
        assert!(
            lines < MAX_LAMBDA_MAIN_LINES,
            "{lambda}'s main.rs has {lines} lines: move the work into jobwatch-aws"
        );
    }
}

#[test]
fn crates_do_not_dev_depend_on_the_root_package_nor_ship_test_code() {
    for dir in crates() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let manifest: toml::Table = manifest.parse().expect("valid Cargo.toml");
        for section in ["dependencies", "dev-dependencies"] {
            let deps = manifest.get(section).and_then(toml::Value::as_table);
            assert!(
                !deps.is_some_and(|d| d.contains_key("jobwatch-tests")),
                "{} {section} names the root package",
                dir.display()
            );
        }
        let is_testkit = dir.ends_with("jobwatch-testkit");
        for file in rust_files(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).expect("source");
            assert!(
                is_testkit || !text.contains("pub mod conformance"),
                "{} ships the conformance suite: it belongs in jobwatch-testkit",
                file.display()
            );
        }
    }
}
