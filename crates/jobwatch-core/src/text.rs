//! Values echoed back in error messages. Whatever a user sent (a slug, a limit, a time zone,
//! a header) is quoted in the one-line reason of a 4xx or a CLI error, and a reason must stay
//! one readable line even when the value was 5,000 characters long.

/// The most characters of a value quoted in an error.
pub const ECHO_CHARS: usize = 40;

/// At most [`ECHO_CHARS`] characters of `value`, with `…` when it was cut.
pub fn shorten(value: &str) -> String {
    match value.char_indices().nth(ECHO_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// `reason` as one line of at most `max` characters: line breaks become spaces, and a longer
/// reason (one quoting a whole value a library put in its message) is cut with `…`.
pub fn one_line(reason: &str, max: usize) -> String {
    let flat: String = reason
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_cut_at_forty_characters() {
        let digits = "9".repeat(5_000);
        let shown = shorten(&digits);
        assert_eq!(shown.chars().count(), ECHO_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(shorten("Europe/Berln"), "Europe/Berln");
    }

    #[test]
    fn cutting_respects_characters_not_bytes() {
        let value = "é".repeat(50);
        assert_eq!(shorten(&value), format!("{}…", "é".repeat(40)));
    }

    #[test]
    fn a_reason_is_one_bounded_line() {
        assert_eq!(one_line("a\nb\r\nc", 100), "a b  c");
        let long = format!("unknown field `{}`", "x".repeat(1_000));
        assert_eq!(one_line(&long, 200).chars().count(), 201);
    }
}
