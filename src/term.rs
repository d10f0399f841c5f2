//! The terminal: colour where it helps (warnings, errors, passed and failed thresholds), none
//! where it is not wanted. `anstream` drops the colour when the stream is not a terminal or
//! `NO_COLOR` is set (and honours `CLICOLOR_FORCE`), as the progress bars' `console` does.

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const PASSED: Style = AnsiColor::Green.on_default();
const FAILED: Style = AnsiColor::Red.on_default().bold();
const HEADING: Style = Style::new().bold();

/// `warning: …` on stderr.
pub fn warning(message: impl Display) {
    anstream::eprintln!("{WARNING}warning:{WARNING:#} {message}");
}

/// `error: …` on stderr.
pub fn error(message: impl Display) {
    anstream::eprintln!("{ERROR}error:{ERROR:#} {message}");
}

/// A line on stdout; a leading `✓` or `✗` is green or red.
pub fn line(text: impl Display) {
    let text = text.to_string();
    let trimmed = text.trim_start();
    let indent = &text[..text.len() - trimmed.len()];
    match (trimmed.strip_prefix('✓'), trimmed.strip_prefix('✗')) {
        (Some(rest), _) => anstream::println!("{indent}{PASSED}✓{PASSED:#}{rest}"),
        (_, Some(rest)) => anstream::println!("{indent}{FAILED}✗{FAILED:#}{rest}"),
        _ => anstream::println!("{text}"),
    }
}

/// A heading on stdout (`verdict:`), in bold.
pub fn heading(text: impl Display) {
    anstream::println!("{HEADING}{text}{HEADING:#}");
}
