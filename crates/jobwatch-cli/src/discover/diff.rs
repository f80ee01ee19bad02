//! A unified diff of two texts, line by line (`--- a` / `+++ b` / `@@` hunks with three lines
//! of context), for `jobwatch discover --dry-run` to show what it would change in a crontab.

/// Above this many line pairs the diff is one hunk replacing everything (a crontab is far
/// smaller; this only bounds the work).
const MAX_CELLS: usize = 4_000_000;
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The edit script from `a` to `b` (longest common subsequence).
fn script<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<(Op, &'t str)> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        let del = a.iter().map(|l| (Op::Del, *l));
        return del.chain(b.iter().map(|l| (Op::Add, *l))).collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((Op::Same, a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push((Op::Del, a[i])); // a deletion before its replacement, as diff shows it
            i += 1;
        } else {
            out.push((Op::Add, b[j]));
            j += 1;
        }
    }
    out
}

/// The unified diff of `old` and `new` (named `old_name` and `new_name`), or an empty string
/// when they are the same.
pub fn unified(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = script(&a, &b);
    if ops.iter().all(|(op, _)| *op == Op::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != Op::Same).collect();
    let mut k = 0;
    while k < changed.len() {
        // A hunk: changes less than 2 * CONTEXT apart share one.
        let start = changed[k].saturating_sub(CONTEXT);
        let mut last = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= last + 2 * CONTEXT {
            k += 1;
            last = changed[k];
        }
        let end = (last + CONTEXT + 1).min(ops.len());
        let line_of = |op_index: usize, side: Op| {
            ops[..op_index]
                .iter()
                .filter(|(op, _)| *op == Op::Same || *op == side)
                .count()
        };
        let count = |side: Op| {
            ops[start..end]
                .iter()
                .filter(|(op, _)| *op == Op::Same || *op == side)
                .count()
        };
        let (old_count, new_count) = (count(Op::Del), count(Op::Add));
        let from = |side, n: usize| line_of(start, side) + usize::from(n > 0);
        out.push_str(&format!(
            "@@ -{},{old_count} +{},{new_count} @@\n",
            from(Op::Del, old_count),
            from(Op::Add, new_count)
        ));
        for (op, line) in &ops[start..end] {
            let mark = match op {
                Op::Same => ' ',
                Op::Del => '-',
                Op::Add => '+',
            };
            out.push_str(&format!("{mark}{line}\n"));
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_one_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified("crontab", "crontab (rewritten)", old, new),
            "--- crontab\n+++ crontab (rewritten)\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(unified("x", "y", old, old), "");
    }

    #[test]
    fn lines_added_at_the_top_and_far_apart_changes_make_two_hunks() {
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let new = format!("top\n{}", old.replace("18\n", "eighteen\n"));
        let diff = unified("a", "b", &old, &new);
        let hunks: Vec<&str> = diff.lines().filter(|l| l.starts_with("@@")).collect();
        assert_eq!(hunks, ["@@ -1,3 +1,4 @@", "@@ -15,6 +16,6 @@"], "{diff}");
        assert!(
            diff.contains("+top\n 1\n") && diff.contains("-18\n+eighteen\n"),
            "{diff}"
        );
    }
}
